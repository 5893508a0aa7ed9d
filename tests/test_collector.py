"""The cyclic collector is paused while a recipe is parsed and checked (lang/collector.py),
and left as the caller had it afterwards."""

from __future__ import annotations

import gc

import pytest

import deidlang
from deidlang.lang import collector

RECIPE = "FORMAT dicom\n%header\nREMOVE PatientName\n%filter f\nLABEL x\n  contains Modality CT\n"


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_and_back_on_after(collector_on):
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():  # nested: still off, and the outer block turns it back on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_back_on_after_an_exception(collector_on):
    with pytest.raises(ZeroDivisionError), collector.paused():
        1 / 0  # noqa: B018 - the exception is the point
    assert gc.isenabled()


def test_a_caller_that_turned_it_off_keeps_it_off(collector_on):
    gc.disable()
    with collector.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
    deidlang.check(RECIPE)
    deidlang.parse(RECIPE)
    assert not gc.isenabled()


def test_parse_and_check_run_paused_and_restore_it(collector_on, monkeypatch):
    from deidlang import checks
    from deidlang.lang import parser

    seen = []
    real_parse, real_check = parser._parse, checks._check_recipe

    def spy_parse(*args):
        seen.append(("parse", gc.isenabled()))
        return real_parse(*args)

    def spy_check(*args):
        seen.append(("check", gc.isenabled()))
        return real_check(*args)

    monkeypatch.setattr(parser, "_parse", spy_parse)
    monkeypatch.setattr(checks, "_check_recipe", spy_check)
    assert [d.code for d in deidlang.check(RECIPE)] == []
    deidlang.parse(RECIPE)
    assert seen == [("parse", False), ("check", False), ("parse", False)]
    assert gc.isenabled()
