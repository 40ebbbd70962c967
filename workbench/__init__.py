"""Workbench for municipal education departments: ШНОР/ШНСУ identification, gaps, objectivity, planning."""
__version__ = "0.1.0"
