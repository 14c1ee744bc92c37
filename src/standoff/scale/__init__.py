"""Scale-out on Dask: Monte-Carlo campaigns and partitioned detection archives.

Plain in-process execution is the default; ``--workers N`` starts a local Dask cluster and
``--scheduler tcp://HOST:8786`` uses a running one.  Results never depend on which.
"""

from standoff.scale.campaign import (
    METRICS,
    CampaignResult,
    CampaignSpec,
    Member,
    load_campaign,
    members_of,
    parse_campaign,
    run_campaign,
    run_member,
)
from standoff.scale.executor import (
    DaskExecutor,
    Executor,
    Failure,
    InProcessExecutor,
    open_executor,
)

__all__ = [
    "METRICS",
    "CampaignResult",
    "CampaignSpec",
    "DaskExecutor",
    "Executor",
    "Failure",
    "InProcessExecutor",
    "Member",
    "load_campaign",
    "members_of",
    "open_executor",
    "parse_campaign",
    "run_campaign",
    "run_member",
]
