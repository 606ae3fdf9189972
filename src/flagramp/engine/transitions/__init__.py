"""The pieces of the run machine (`engine.machine`): pure functions over a draft.

Each function takes a `Draft` (the context, the state so far, the time and what
the step has produced) and moves it on; `engine.machine` is the only entry.
"""
