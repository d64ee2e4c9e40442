"""Road networks, travel times, coverage, population and scenarios (no OR-Tools here).

Public modules: :mod:`geodata.scenario` (load/save scenarios), :mod:`geodata.settings`,
:mod:`geodata.network`, :mod:`geodata.coverage`, :mod:`geodata.demand`,
:mod:`geodata.isochrones`, :mod:`geodata.demo`, :mod:`geodata.importer`,
:mod:`geodata.summary`. Submodules are imported on use to keep start-up fast.
"""

from geodata._errors import CRSMismatchError, NetworkError, ScenarioError, ScenarioWarning

__all__ = ["CRSMismatchError", "NetworkError", "ScenarioError", "ScenarioWarning"]
