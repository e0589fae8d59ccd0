"""The benchmark scripts run end to end at a tiny size and report sane figures.

No timing is asserted: speed is what the scripts print, on a machine whose
load a test cannot know.
"""

from __future__ import annotations

from benchmarks import crawl, digest, ingest, serve


def test_crawl_benchmark_crawls_every_feed_then_gets_304s(capsys):
    report = crawl.main(["--feeds", "20", "--hosts", "20", "--parse-workers", "2"])

    first, second = report.runs
    # Feed 37 of every hundred answers 500, so all 20 of these are served.
    assert (first.summary.sources, first.summary.fetched) == (20, 20)
    assert first.summary.new_items == 20 * 20
    assert (second.summary.not_modified, second.summary.new_items) == (20, 0)
    assert report.served["304"] == 20
    for run in report.runs:
        assert run.usage.wall_s > 0 and run.usage.cpu_s > 0
        # This process, the fork server and two parse workers at least.
        assert run.usage.processes >= 4
        assert 50 * 2**20 < run.usage.peak_pss <= run.usage.peak_rss
    assert "unchanged crawl" in capsys.readouterr().out


def test_ingest_benchmark_stores_every_entry_with_its_full_text(capsys):
    report = ingest.main(["--entries", "60", "--workers", "1", "--chunk", "1"])

    assert report.pipeline.items == report.floor.items == 60
    assert report.stored == report.with_full_text == 60
    assert len(report.languages) == 3
    assert report.pipeline.cpu_s > 0 and report.floor.cpu_s > 0
    assert report.ratio > 0 and report.cpu_ratio > 0
    assert "ratio pipeline / floor" in capsys.readouterr().out


def test_serve_benchmark_answers_full_and_not_modified_under_load(capsys):
    report = serve.main(
        ["--items", "300", "--sources", "20", "--clients", "4", "--seconds", "1"]
    )

    assert report is not None and report.items == 300
    assert [phase.name for phase in report.phases] == [
        "feed, full", "feed, 304", "page, full", "page, 304",
    ]  # fmt: skip
    for phase in report.phases:
        wanted = "304" if phase.name.endswith("304") else "200"
        assert set(phase.statuses) == {wanted} and phase.answers > 0
        assert 0 < phase.p50_ms <= phase.p99_ms
    assert set(report.first_answer_ms) == {"feed", "page"}
    assert "304" in capsys.readouterr().out


def test_digest_benchmark_sends_every_digest_once_to_its_smtp_server(capsys):
    report = digest.main(["--subscriptions", "300", "--stories", "60"])

    summary = report.summary
    assert summary.sent > 0 and summary.sent + summary.empty == summary.subscriptions
    assert summary.failed == summary.deferred == 0
    assert report.received["messages"] == report.received["recipients"] == summary.sent
    assert report.received["duplicates"] == 0
    assert report.usage.wall_s > 0 and report.usage.peak_rss > 0
    assert "messages per second" in capsys.readouterr().out
