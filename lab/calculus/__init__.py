"""The Calculus panel's science: derivatives with named steps, Taylor polynomials,
L'Hôpital's rule step by step and critical points (Fermat), all with sympy.

Symbolic work (`symbolic.py`) runs in `lab.sandbox`'s worker process with a time limit;
the panel redraws only from cached numpy functions (`lab.formula.numeric_function`).
"""
