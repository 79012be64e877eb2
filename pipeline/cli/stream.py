"""``yuqing broker`` and ``yuqing run``: the embedded broker and the streaming job."""

from __future__ import annotations

import typer


def broker(
    port: int = typer.Option(9092, help="Port on 127.0.0.1 to listen on."),
    kafka: bool = typer.Option(
        False, "--kafka", help="Run Apache Kafka, persistent under DATA_DIR/kafka/data "
        "(jars: `make kafka-jars`), instead of tansu."),
) -> None:
    """Run a local Kafka broker in the foreground and create the topics.

    The default, tansu, is memory-only: topics are lost when it stops. --kafka runs a real Apache
    Kafka broker (KRaft, one node, needs Java 17+) that keeps topics and consumer offsets across
    restarts. Point YUQING_KAFKA_BOOTSTRAP at a real cluster in production. Stops cleanly on
    Ctrl-C, SIGTERM or SIGHUP; the broker process never outlives this command.
    """
    from pipeline.config import get_settings

    settings = get_settings()
    if kafka:
        from pipeline.kafka_server import KAFKA_VERSION, broker_dir
        from pipeline.kafka_server import serve as serve_kafka

        serve_kafka(port, settings, ready=lambda bootstrap: typer.echo(
            f"Apache Kafka {KAFKA_VERSION} ready on {bootstrap}, data in "
            f"{broker_dir(settings.data_dir)}; Ctrl-C stops it"))
        return
    from pipeline.broker import serve

    serve(port, settings, ready=lambda bootstrap: typer.echo(
        f"broker ready on {bootstrap}; Ctrl-C stops it"))


def run(
    ctx: typer.Context,
    until_idle: float | None = typer.Option(
        None, metavar="SECONDS", help="Stop once every partition has been idle this long "
        "and the broker confirms nothing is left (time the broker is down does not count). "
        "Not on Flink, whose checkpointed stream runs until stopped."),
    runner: str = typer.Option(
        "local", help="local (in-process), prism (`make prism`), flink (`make "
        "flink-job-server`), or a Beam runner class such as DataflowRunner, passed on."),
    flink_master: str = typer.Option(
        "[local]", metavar="HOST:PORT", help="Flink's REST address; [local] starts an "
        "embedded Flink cluster inside the job server."),
    worker_pool: str | None = typer.Option(
        None, metavar="HOST:PORT", help="A Beam Python worker pool that a Flink cluster's task "
        "managers run the Python steps in; without it they run in this process."),
    checkpoint_interval: float = typer.Option(
        10.0, metavar="SECONDS", help="Flink's checkpoint interval: Kafka offsets are "
        "committed after each checkpoint, so it bounds what a restart reads again."),
    parallelism: int = typer.Option(
        1, min=1, metavar="N", help="Flink only: N copies of every step share the topic's "
        "partitions (each partition read by one copy; more copies than partitions read "
        "nothing) and the surge counts. With --worker-pool each stage copy runs in a Python "
        "worker of its own, so the N reading copies use N cores; without it they share this "
        "process, one core."),
) -> None:
    """Run the streaming pipeline: Kafka → text stage → score → alerts in the store.

    Without --until-idle it runs until stopped. Options Yuqing does not know go to Beam
    unchanged, after the runner's own (e.g. Dataflow's --project). It reads
    from the consumer group's committed offsets (YUQING_CONSUMER_GROUP; a new group re-reads from
    the beginning) and logs a progress line every YUQING_PROGRESS_INTERVAL_S seconds.

    Examples: `yuqing run --runner prism --until-idle 10`; `yuqing run --runner flink`;
    `yuqing run --runner flink --flink-master flink-jobmanager:8081 --worker-pool
    localhost:50000 --parallelism 2`.

    A broker that goes down is waited for (a warning a minute). If the topic is recreated or
    gains partitions under the job, it exits with status 1 and one line saying so: restart it,
    and it reads the topic as it now is, from the right offsets.
    """
    from pipeline.config import get_settings
    from pipeline.stream.run import run as run_pipeline

    argv = [*ctx.args, f"--runner={runner}", f"--flink-master={flink_master}",
            f"--checkpoint-interval={checkpoint_interval}", f"--parallelism={parallelism}"]
    argv += [f"--worker-pool={worker_pool}"] if worker_pool else []
    argv += [f"--until-idle={until_idle}"] if until_idle is not None else []
    summary = run_pipeline(argv, get_settings())
    typer.echo(f"read {summary.read}, scored {summary.scored}, alerts {summary.alerts}, "
               f"surges {summary.surges}, dead letters {summary.dead_letters} in "
               f"{summary.seconds}s")
