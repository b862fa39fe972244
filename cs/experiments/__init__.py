"""Phase-transition studies (:mod:`.phase`) and their SQLite results store (:mod:`.store`).

>>> from cs.experiments import Study, run_study, summarise, transition_curve  # doctest: +SKIP
>>> study = Study("sparse", (200,), deltas=[0.3, 0.6], rhos=[0.1, 0.3], trials=5, solver="l1")  # doctest: +SKIP
>>> summary = run_study(study, "l1.sqlite", workers=2)  # doctest: +SKIP
>>> transition_curve(summary)  # doctest: +SKIP
"""

from .phase import (PRESETS, PROBLEMS, SOLVERS, SUCCESS_RULES, VALUES, Cell, CellSummary, Study, Summary,
                    Transition, donoho_tanner_rho, fit_transition, preset, run_study, run_trial, summarise,
                    transition_curve, trial_problem, trial_seed)
from .store import TRIAL_FIELDS, Store, StoreError

__all__ = ["Study", "Cell", "PRESETS", "preset", "SOLVERS", "SUCCESS_RULES", "PROBLEMS", "VALUES",
           "trial_seed", "trial_problem", "run_trial", "run_study", "CellSummary", "Summary",
           "summarise", "Transition", "fit_transition", "transition_curve", "donoho_tanner_rho",
           "Store", "StoreError", "TRIAL_FIELDS"]
