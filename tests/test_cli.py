import pytest

from cs.cli import main


def test_demo_recovers_and_reports(capsys, tmp_path):
    png = tmp_path / "demo.png"
    code = main(["demo", "--shape", "40", "40", "--plot", str(png)])
    out = capsys.readouterr().out
    assert code == 0
    assert "recovered" in out and "NOT recovered" not in out
    for name in ("NIHT (AccAltProj)", "NIHT (GoDec)", "NAHT"):
        assert name in out
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_demo_failure_exits_nonzero(capsys):
    code = main(["demo", "--shape", "30", "30", "--delta", "0.2", "--rho-r", "0.5", "--rho-s", "0.5",
                 "--plot", ""])
    assert code == 1
    assert "NOT recovered" in capsys.readouterr().out


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--shape", "10"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main([])
