import sys

from ridni.cli import main

sys.exit(main())
