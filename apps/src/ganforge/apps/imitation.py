"""`ganforge imitation expert | demos | train | evaluate`: GAIL from a few demonstrations."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ganforge.apps.common import (
    add_command_group,
    add_device_option,
    add_progress_option,
    add_run_options,
    merge_options,
    nonnegative_int,
    output_file,
    positive_int,
    run_options,
)
from ganforge.apps.errors import UsageError
from ganforge.apps.specs import add_spec_options, spec_fields
from ganforge.core.report import ReportSection, loss_curves_figure, write_report
from ganforge.core.training.distributed import resolve_device
from ganforge.imitation import (
    GAIL,
    Demonstrations,
    ExpertPPO,
    GAILSpec,
    PPOSpec,
    agent_act,
    behavioural_cloning,
    collect_demos,
    env_info,
    evaluate,
    expert_path,
    learning_curve_figure,
    load_demos,
    load_or_train_expert,
    preset,
    random_return,
)

PPO_KEYS = spec_fields(PPOSpec)
GAIL_KEYS = spec_fields(GAILSpec)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `ganforge imitation` group: expert, demos, train and evaluate."""
    add_command_group(
        subparsers,
        "imitation",
        help="imitation learning (GAIL) from a few expert demonstrations on gymnasium envs",
        description="Train an expert with PPO, record its demonstrations, train a GAIL policy "
        "on them (no reward needed) and compare it with the expert, behavioural cloning and "
        "a random policy, all on the fixed-horizon environment.",
        commands=(_add_expert, _add_demos, _add_train, _add_evaluate),
    )


def _add_expert(commands: argparse._SubParsersAction) -> None:
    expert = commands.add_parser(
        "expert",
        help="train an expert with PPO on the environment's reward",
        description="PPO on the fixed-horizon environment's true reward (tuned settings for "
        "CartPole-v1, Acrobot-v1, Pendulum-v1 and MountainCarContinuous-v0, in "
        "ganforge.imitation.PRESETS; the defaults shown below apply elsewhere; flags override "
        "them). Writes a model file and reports the mean return over 50 stochastic episodes.",
    )
    expert.add_argument(
        "--out",
        type=output_file,
        help="model file to write (default: the cache, ~/.cache/ganforge/imitation, where "
        "`demos --env-id` finds it)",
    )
    expert.add_argument("--config", type=Path, help="JSON of options (the flags' names)")
    add_progress_option(expert)
    add_spec_options(expert, PPOSpec)
    add_run_options(expert, default_every=10)
    expert.set_defaults(handler=run_expert)


def _add_demos(commands: argparse._SubParsersAction) -> None:
    demos = commands.add_parser(
        "demos",
        help="record an expert's demonstrations as .npz",
        description="Play --episodes fixed-horizon episodes with the expert's stochastic "
        "policy and write observations, actions, next_observations, episode_ends, returns, "
        "env_id and horizon to a .npz.",
    )
    source = demos.add_mutually_exclusive_group(required=True)
    source.add_argument("--expert", type=Path, help="expert model file written by `expert`")
    source.add_argument(
        "--env-id", help="use the cached expert of this environment (trained first if absent)"
    )
    demos.add_argument("--episodes", type=positive_int, default=16, help="episodes (default 16)")
    demos.add_argument(
        "--seed", type=nonnegative_int, default=1, help="seed of the episodes (default 1)"
    )
    demos.add_argument("--out", type=output_file, required=True, help=".npz file to write")
    demos.set_defaults(handler=run_demos)


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help="train a GAIL policy on demonstrations",
        description="GAIL: a discriminator on the expert's (s, a) and PPO on its reward, on "
        "the fixed-horizon environment the demonstrations name (tuned settings for the "
        "benchmark's environments (see ganforge.imitation.PRESETS; the defaults shown below "
        "apply elsewhere); flags override them). Writes one model file.",
    )
    train.add_argument("--demos", type=Path, required=True, help=".npz demonstrations")
    train.add_argument(
        "--demo-episodes",
        type=positive_int,
        help="use only the first N episodes of the demonstrations (default: all)",
    )
    train.add_argument("--out", type=output_file, required=True, help="model file to write (.pt)")
    train.add_argument("--config", type=Path, help="JSON of options (the flags' names)")
    add_progress_option(train)
    add_spec_options(train, GAILSpec)
    add_run_options(train, default_every=10)
    train.set_defaults(handler=run_train)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="true return against the expert, behavioural cloning and a random policy",
        description="Play 50 stochastic episodes on the fixed-horizon environment with the "
        "GAIL policy, with behavioural cloning trained on the same demonstrations and with "
        "random actions; report returns and fractions of the expert's return as JSON.",
    )
    ev.add_argument("--model", type=Path, required=True, help="model file written by train")
    ev.add_argument("--demos", type=Path, required=True, help="the demonstrations it imitated")
    ev.add_argument(
        "--demo-episodes", type=positive_int, help="the first N episodes only (default: all)"
    )
    ev.add_argument("--out", type=output_file, required=True, help="JSON report to write")
    ev.add_argument(
        "--report", type=output_file, help="also write an HTML page with the learning curve"
    )
    ev.add_argument(
        "--expert-return",
        type=float,
        help="the expert's mean return (default: the demonstrations' mean return)",
    )
    ev.add_argument(
        "--episodes", type=positive_int, default=50, help="episodes per policy (default 50)"
    )
    ev.add_argument("--no-baselines", action="store_true", help="skip behavioural cloning")
    add_device_option(ev)
    ev.set_defaults(handler=run_evaluate)


# --------------------------------------------------------------- commands
def _spec(spec_type: type, arguments: argparse.Namespace, keys: tuple[str, ...], kind: str) -> Any:
    given = merge_options(arguments, keys, {})
    env_id = given.get("env_id") or PPOSpec.env_id
    env_info(env_id, given.get("horizon"))  # a bad env id is a one-line error before any work
    return spec_type(**{**preset(env_id, kind), **given})


def run_expert(arguments: argparse.Namespace) -> int:
    run = run_options(arguments)
    spec = _spec(PPOSpec, arguments, PPO_KEYS, "expert")
    out = arguments.out or expert_path(spec.env_id, spec)
    started = time.perf_counter()
    expert = ExpertPPO(spec).fit(
        progress=not arguments.no_progress,
        run_dir=run.run_dir,
        checkpoint_every=run.checkpoint_every,
        resume_from=run.resume_from,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    expert.save(out)
    print(
        f"wrote {out}: {spec.env_id} expert, return {expert.expert_return:.1f} over 50 "
        f"stochastic episodes ({time.perf_counter() - started:.1f} s)"
    )
    return 0


def run_demos(arguments: argparse.Namespace) -> int:
    if arguments.expert is not None:
        expert = ExpertPPO.load(arguments.expert, "cpu")
    else:
        env_info(arguments.env_id)
        expert = load_or_train_expert(arguments.env_id, progress=True)
    demos = collect_demos(
        expert.act, expert.spec.env_id, arguments.episodes, arguments.seed, expert.spec.horizon
    )
    demos.save(arguments.out)
    print(
        f"wrote {arguments.out}: {demos.n_episodes} episodes of {demos.horizon} steps on "
        f"{demos.env_id}, mean return {demos.mean_return():.1f}"
    )
    return 0


def _demos(path: Path, episodes: int | None, env_id: str | None = None) -> Demonstrations:
    demos = load_demos(path, env_id)
    if episodes is not None:
        if episodes > demos.n_episodes:
            raise UsageError(
                f"--demo-episodes {episodes}: {path} holds {demos.n_episodes} episodes"
            )
        demos = demos.first(episodes)
    return demos


def run_train(arguments: argparse.Namespace) -> int:
    run = run_options(arguments)
    given = merge_options(arguments, GAIL_KEYS, {})
    GAILSpec(**given)  # every setting checked before the demonstrations are read
    demos = _demos(arguments.demos, arguments.demo_episodes, given.get("env_id"))
    env_id = given.get("env_id") or demos.env_id
    spec = GAILSpec(**{**preset(env_id, "gail"), "horizon": demos.horizon, **given})
    model = GAIL(spec)
    started = time.perf_counter()
    model.fit(
        demos,
        progress=not arguments.no_progress,
        run_dir=run.run_dir,
        checkpoint_every=run.checkpoint_every,
        resume_from=run.resume_from,
    )
    model.save(arguments.out)
    steps, returns = model.learning_curve()
    print(
        f"wrote {arguments.out}: {int(steps[-1])} env steps on {env_id} "
        f"({time.perf_counter() - started:.1f} s), last rollout return {returns[-1]:.1f}"
    )
    return 0


def run_evaluate(arguments: argparse.Namespace) -> int:
    resolve_device(arguments.device)
    model = GAIL.load(arguments.model, arguments.device)
    demos = _demos(arguments.demos, arguments.demo_episodes, model.spec.env_id)
    model.check_demos(demos)
    result = evaluate(
        model,
        demos,
        expert_return=arguments.expert_return,
        baselines=not arguments.no_baselines,
        episodes=arguments.episodes,
    )
    result = {"model": str(arguments.model), "demos": str(arguments.demos), **result}
    from ganforge.core.files import write_json

    write_json(arguments.out, result)
    if arguments.report is not None:
        steps, returns = model.learning_curve()
        figures = {}
        if len(steps):
            figures["learning curve"] = learning_curve_figure(
                steps,
                returns,
                result["expert_return"],
                result.get("bc_return"),
                result["random_return"],
                f"GAIL on {model.spec.env_id}, {demos.n_episodes} demos",
            )
        text = (
            f"True returns over {result['episodes']} stochastic episodes of the fixed-horizon "
            "environment; fraction = (R - R_random) / (R_expert - R_random)."
        )
        section = ReportSection("GAIL evaluation", result, figures, text)
        write_report(arguments.report, "ganforge imitation evaluation", [section])
    bc = f", BC {result['bc_fraction']:.2f}" if "bc_fraction" in result else ""
    print(
        f"wrote {arguments.out}: return {result['return']:.1f} "
        f"(fraction of expert {result['fraction']:.2f}{bc})"
    )
    return 0


# ------------------------------------------------------------------- demo
DEMO_HORIZON = 200
DEMO_GAIL = {"total_steps": 24_000, "n_envs": 2, "d_updates": 8, "horizon": DEMO_HORIZON}


def cartpole_controller(obs: Any, generator: Any) -> Any:
    """A hand-written CartPole expert: push towards where the pole falls (returns 500)."""
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).long()


def demo(out_dir: Path) -> ReportSection:
    """A short GAIL run on CartPole (200-step horizon) from 4 demonstrations of a
    hand-written controller, beside behavioural cloning and random actions."""
    from ganforge.imitation import play

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env_id = "CartPole-v1"
    demos = collect_demos(cartpole_controller, env_id, 4, seed=1, horizon=DEMO_HORIZON)
    demos.save(out_dir / "demos.npz")
    spec = GAILSpec(**{**preset(env_id, "gail"), **DEMO_GAIL, "device": "cpu"})
    started = time.perf_counter()
    model = GAIL(spec).fit(demos)
    seconds = time.perf_counter() - started
    model.save(out_dir / "gail.pt")
    episodes = 20
    bc = behavioural_cloning(demos, steps=1000, seed=0)
    bc_return = float(play(agent_act(bc), env_id, episodes, horizon=DEMO_HORIZON).returns.mean())
    chance = random_return(env_id, DEMO_HORIZON, episodes)
    steps, returns = model.learning_curve()
    expert_return = demos.mean_return()
    figures = {
        "learning curve": learning_curve_figure(
            steps, returns, expert_return, bc_return, chance, "GAIL on CartPole, 4 demos"
        ),
        "discriminator and PPO": loss_curves_figure(model.history),
    }
    metrics = {
        f"GAIL return ({episodes} stochastic episodes)": round(model.evaluate(episodes), 1),
        "expert return": round(expert_return, 1),
        "behavioural cloning return": round(bc_return, 1),
        "random return": round(chance, 1),
        "environment steps": int(steps[-1]),
        "training seconds": round(seconds, 1),
    }
    return ReportSection(
        "Imitation: GAIL on CartPole from 4 demonstrations",
        metrics,
        figures,
        f"A {spec.total_steps:,}-step GAIL run on CartPole with a fixed {DEMO_HORIZON}-step "
        "horizon (absorbing after a fall), imitating a hand-written controller so the demo "
        "trains no expert. `ganforge imitation expert` trains PPO experts; "
        "bench/imitation_gail.py runs the full protocol (500 steps, PPO experts, 50 "
        "episodes) on CartPole, Acrobot and Pendulum.",
    )
