"""The headquarters page: a read-only view of the marts, served inside Airflow's api-server by a plugin.

``data`` reads (through a login role in ``hq_analyst`` only), ``page`` renders HTML, ``auth`` puts
Airflow's authentication in front, ``app`` is the FastAPI app that ``plugins/ridni_hq.py`` mounts.
See docs/hq_page.md.
"""
