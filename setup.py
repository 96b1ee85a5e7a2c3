# Metadata lives in setup.cfg; this shim lets older pip versions do editable installs.
from setuptools import setup

setup()
