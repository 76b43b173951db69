import logging

from flaxline.engine.progress import EpochProgress


def run_epochs(**kwargs):
    with EpochProgress(epochs=2, steps=4, **kwargs) as progress:
        for epoch in (1, 2):
            progress.start_epoch(epoch)
            for step in range(1, 5):
                progress.advance(step, {"loss": 0.5, "accuracy": 0.75})


def test_off_a_terminal_progress_is_periodic_log_lines(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="flaxline.engine.progress"):
        run_epochs(log_every_seconds=0.0)
    assert "epoch 2 step 4/4 loss 0.5000 accuracy 0.7500" in caplog.messages
    assert "━" not in capsys.readouterr().err  # no bar drawn into a log file


def test_on_a_terminal_progress_is_a_bar(caplog, capsys, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats the output as a terminal
    with caplog.at_level(logging.INFO, logger="flaxline.engine.progress"):
        run_epochs(log_every_seconds=0.0)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "4/4" in err and "loss 0.5000 accuracy 0.7500" in err
    assert not caplog.messages
