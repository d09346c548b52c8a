"""An emulated Kubernetes API server for tests, benchmarks and demos.

No Django here: the emulator runs and is tested on its own. ``start_emulator("neglected")``
serves a shipped scenario over HTTPS on 127.0.0.1; see ``README.md`` in this folder.
"""

from emulator.faults import CertificateFault, Fault, FaultKind
from emulator.scenario import Scenario, ScenarioError, load_scenario, shipped
from emulator.server import Emulator, start_emulator

__all__ = [
    "CertificateFault",
    "Emulator",
    "Fault",
    "FaultKind",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "shipped",
    "start_emulator",
]
