"""``/stats``: comment volumes over time, negative and total, per source or per keyword."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Query, status

from pipeline.api.auth import Db, viewer
from pipeline.api.schemas import StatsOut, VolumePointOut, VolumeSeries
from pipeline.store.stats import Bucket, GroupBy, TooManyBuckets, comment_volume

router = APIRouter(prefix="/stats", tags=["stats"], dependencies=[Depends(viewer)])

Text = Annotated[str | None, Query(max_length=512)]


@router.get("", response_model=StatsOut)
def volume(
    db: Db,
    bucket: Bucket = Bucket.HOUR,
    by: GroupBy = GroupBy.NONE,
    since: datetime | None = None,
    until: datetime | None = None,
    source: Text = None,
    keyword: Text = None,
    tz: Annotated[str, Query(max_length=64, description="An IANA time zone, such as "
                             "Asia/Shanghai: where a day begins.")] = "UTC",
) -> StatsOut:
    """Comments written per hour or day (published time, else crawl time), how many are
    negative, and the negative share; every bucket from the first to the last, empty ones
    included."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"unknown time zone {tz!r}: use an IANA name such as Asia/Shanghai"
                            ) from None
    try:
        volumes = comment_volume(db, bucket=bucket, by=by, since=since, until=until,
                                 source=source, keyword=keyword, tz=zone)
    except TooManyBuckets as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    return StatsOut(bucket=bucket, by=by, tz=tz, series=[
        VolumeSeries(group=group, points=[VolumePointOut.model_validate(point) for point in points])
        for group, points in volumes.items()])
