"""gpuinfra policy pack: rules in plain modules, the PolicyPack only in __main__.py."""
