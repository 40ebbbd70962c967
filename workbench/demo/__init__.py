"""Demo region generator: a synthetic region of municipalities, schools and pupils with planted effects.

``generate_demo(out, scale, seed)`` writes raw files a region would have (``out/raw``: FIS OKO ВПР exports,
ОГЭ/ЕГЭ, context, staff, resources, outcomes, 500+ surveys, roadmap) and the ground truth of what was
planted (``out/truth``). ``build_plan(scale, seed)`` plans the region without writing anything.

Example
-------
>>> from workbench.demo import build_plan
>>> len(build_plan(1.0, 2026).schools) >= 600
True
"""
from workbench.demo.generate import DemoSummary, generate_demo
from workbench.demo.region import RegionPlan, build_plan

__all__ = ["DemoSummary", "RegionPlan", "build_plan", "generate_demo"]
