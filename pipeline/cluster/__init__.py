"""A SLURM cluster on this machine (`make cluster`): controller, accounting and compute nodes in
simulated hosts, so that `hydra/launcher=slurm` runs here as it runs on a site's cluster."""
