"""Great Expectations' Data Docs views, with their Jinja templates compiled once per machine.

GX makes a new Jinja environment for every view of every build, and compiles each template it renders
again: a quarter of a second of every source's Data Docs every night. These views are GX's own with
Jinja's bytecode cache (in the user's private cache folder, keyed by each template's source), named in
the site's configuration (``ridni.ingest.validate._docs_context``).
"""

from __future__ import annotations

import functools

import jinja2
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView


@functools.cache
def _compiled_templates() -> jinja2.BytecodeCache:
    # no folder given: Jinja makes one of this user's own (mode 0700) and refuses one another user owns
    return jinja2.FileSystemBytecodeCache()


class CachedPageView(DefaultJinjaPageView):
    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = _compiled_templates()


class CachedIndexPageView(DefaultJinjaIndexPageView):
    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = _compiled_templates()
