"""Stand-in for the get-pip.py that ansible-test downloads from a host this CI cannot reach.

ansible-test looks for ~/.ansible/test/cache/get_pip_<version>.py before downloading it; tests/run.sh
puts this file there. It bootstraps pip from the interpreter's bundled ensurepip, then lets pip
install the version ansible-test asked for from PyPI.
"""
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
wanted = [arg for arg in sys.argv[1:] if arg.startswith('pip')]
if wanted:
    subprocess.call([sys.executable, '-m', 'pip', 'install', '-q', '--disable-pip-version-check'] + wanted)
