"""The Chinese notebooks are generated copies of ../NN_*.ipynb with the same code and stored outputs
(tests/test_i18n.py checks that): nbval runs the English ones, so it does not collect these."""
collect_ignore_glob = ["*.ipynb"]
