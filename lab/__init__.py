"""The science of Visual Lab: torch / NumPy / sympy / scikit-learn, never Qt."""
