"""Every kind of refusal of the runs layer has its HTTP status, in one table."""

from __future__ import annotations

from bot.api.errors import STATUS, status_of
from bot.runs import errors


def _kinds(base: type[errors.RunsError]) -> set[type[errors.RunsError]]:
    found = set()
    for kind in base.__subclasses__():
        found |= {kind, *_kinds(kind)}
    return found


def test_each_kind_of_refusal_maps_to_its_status() -> None:
    assert STATUS == {errors.NotFound: 404, errors.Conflict: 409, errors.Invalid: 422, errors.StorageUnavailable: 503}
    for kind in _kinds(errors.RunsError):
        detail = f"a {kind.__name__}"
        assert status_of(kind(detail)) in STATUS.values()
    assert status_of(errors.PauseGone("answered elsewhere")) == 409
