"""Joining and leaving the process group: a group joined is left at exit."""

from __future__ import annotations

import socket

import pytest
import torch.distributed as dist

from ganforge.core.training import distributed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_teardown_leaves_a_joined_group_and_is_then_a_no_op() -> None:
    dist.init_process_group(
        backend="gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1
    )
    assert dist.is_initialized()
    distributed.teardown_process_group()
    assert not dist.is_initialized()
    distributed.teardown_process_group()
    assert not dist.is_initialized()


def test_joining_a_group_registers_its_teardown_at_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    joined: list[str] = []
    registered: list[object] = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(dist, "is_initialized", lambda: bool(joined))
    monkeypatch.setattr(dist, "init_process_group", lambda backend: joined.append(backend))
    monkeypatch.setattr(dist, "get_rank", lambda: 1)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(distributed.atexit, "register", registered.append)
    info = distributed.setup_process_group("cpu")
    assert joined == ["gloo"]
    assert registered == [distributed.teardown_process_group]
    assert (info.rank, info.world_size, info.is_main) == (1, 2, False)
    distributed.setup_process_group("cpu")
    assert joined == ["gloo"] and len(registered) == 1


def test_a_single_process_joins_no_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = distributed.setup_process_group("cpu")
    assert (info.rank, info.world_size) == (0, 1)
    assert not dist.is_initialized()


def test_a_gloo_rank_waits_for_the_others_before_leaving(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(dist, "is_initialized", lambda: "destroy" not in calls)
    monkeypatch.setattr(dist, "get_backend", lambda: "gloo")
    monkeypatch.setattr(dist, "monitored_barrier", lambda timeout: calls.append(f"wait {timeout}"))
    monkeypatch.setattr(dist, "destroy_process_group", lambda: calls.append("destroy"))
    distributed.teardown_process_group()
    assert calls == ["wait 0:01:00", "destroy"]


def test_a_peer_already_gone_does_not_keep_a_rank_from_leaving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def peer_gone(timeout: object) -> None:
        raise RuntimeError("Rank 1 failed to pass monitoredBarrier")

    monkeypatch.setattr(dist, "is_initialized", lambda: "destroy" not in calls)
    monkeypatch.setattr(dist, "get_backend", lambda: "gloo")
    monkeypatch.setattr(dist, "monitored_barrier", peer_gone)
    monkeypatch.setattr(dist, "destroy_process_group", lambda: calls.append("destroy"))
    distributed.teardown_process_group()
    assert calls == ["destroy"]
