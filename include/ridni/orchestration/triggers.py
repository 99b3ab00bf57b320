"""A trigger that waits, in the triggerer, for a drop's manifest to appear in the landing zone."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ridni.ingest.drops import manifest_present


class ManifestTrigger(BaseTrigger):
    def __init__(self, landing: str, source_id: str, night: str, poke_seconds: float = 60.0):
        super().__init__()
        self.landing, self.source_id, self.night, self.poke_seconds = landing, source_id, night, poke_seconds

    def serialize(self):
        return (
            "ridni.orchestration.triggers.ManifestTrigger",
            {"landing": self.landing, "source_id": self.source_id, "night": self.night,
             "poke_seconds": self.poke_seconds},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        night = dt.date.fromisoformat(self.night)
        while not await asyncio.to_thread(manifest_present, self.landing, self.source_id, night):
            await asyncio.sleep(self.poke_seconds)
        yield TriggerEvent({"source_id": self.source_id, "night": self.night})
