"""``docrelay demo``: the whole product end to end on a local Salesforce emulator."""

from docrelay.demo.run import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
