"""The unchanged pipeline on Apache Flink: the same results as on the FnApiRunner.

Flink runs embedded (``--flink_master=[local]``, a mini-cluster inside the job server's
JVM) in streaming mode with parallelism 2; the Python SDK harness runs in this process
(LOOPBACK). The job server jar comes from Maven Central through mvn; where it cannot
be obtained the integration test is skipped with Maven's answer as the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.flink import FLINK_VERSION, job_server_artifact, obtain_job_server_jar
from infra.kafka_broker import PrepareError
from pipelines import runners
from pipelines.settings import Settings
from tests.integration.test_parallel import assert_same, outcome, reference_run, run_as


def test_flink_options_point_at_local_files_and_stream_in_parallel() -> None:
    choice = runners.RunnerChoice("flink", workers=4)
    arguments = runners.flink_arguments(choice, "/opt/jobserver.jar")
    assert "--flink_master=[local]" in arguments
    assert "--flink_job_server_jar=/opt/jobserver.jar" in arguments
    assert "--parallelism=4" in arguments
    assert "--streaming" in arguments
    assert "--environment_type=LOOPBACK" in arguments
    assert not any("http" in argument for argument in arguments)
    assert job_server_artifact(beam="2.77.0") == (
        f"org.apache.beam:beam-runners-flink-{FLINK_VERSION}-job-server:2.77.0"
    )


def test_process_environment_starts_the_harness_from_this_install() -> None:
    choice = runners.RunnerChoice("flink", environment_type="PROCESS")
    (config,) = [
        a.split("=", 1)[1]
        for a in runners.flink_arguments(choice, "/opt/j.jar")
        if a.startswith("--environment_config=")
    ]
    assert json.loads(config)["command"].endswith("-m apache_beam.runners.worker.sdk_worker_main")


def test_a_bad_runner_choice_says_what_to_change() -> None:
    with pytest.raises(runners.RunnerError, match="choose one of direct, flink, prism"):
        runners.RunnerChoice("spark")
    with pytest.raises(runners.RunnerError, match="newsbeam run --workers 2"):
        runners.direct_arguments(runners.RunnerChoice("direct", workers=2))
    with pytest.raises(runners.RunnerError, match="DOCKER needs a Docker daemon"):
        runners.RunnerChoice("flink", environment_type="DOCKER")


@pytest.mark.integration
@pytest.mark.slow
def test_flink_gives_the_same_articles_stories_and_alerts(
    test_settings: Settings, tmp_path: Path
) -> None:
    try:
        jar = obtain_job_server_jar(test_settings)
    except PrepareError as exc:
        pytest.skip(str(exc).splitlines()[0])
    expected, published = reference_run(test_settings, tmp_path)
    choice = runners.RunnerChoice("flink", workers=2, job_server_jar=str(jar))
    done = run_as(test_settings, "flink", choice)
    assert_same(expected, outcome(done), published)
