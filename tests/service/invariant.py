"""The invariant checker as the tests use it: after every race, every rule must hold."""

from __future__ import annotations

from realname.service.context import ServiceContext
from realname.service.usecases.invariants import check_invariants


def assert_invariants(ctx: ServiceContext) -> None:
    report = check_invariants(ctx)
    assert report.ok, [v.to_dict() for v in report.violations]
