"""ridni's development tools: the synthetic extracts and their truth (``synth``), the demo, the benchmark
and the accuracy scoring. Installed beside the product package by ``bin/setup`` for the demo and the tests;
the production image installs only ``ridni`` (include/ridni)."""
