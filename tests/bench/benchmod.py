"""Loads one of the benchmark scripts of tests/bench (run, relay: they
have no .py suffix) as a module, so that another script reuses its
building blocks (the Postern and Postfix instances, /proc accounting,
NSD, loopback addresses) instead of copying them."""
import importlib.machinery
import importlib.util
import pathlib

HERE = pathlib.Path(__file__).resolve().parent


def load(name):
    """tests/bench/NAME as the module bench_NAME."""
    loader = importlib.machinery.SourceFileLoader(f"bench_{name}",
                                                  str(HERE / name))
    spec = importlib.util.spec_from_loader(f"bench_{name}", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod
