"""The Qt face of Visual Lab: thin views over `lab`."""
