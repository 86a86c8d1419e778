"""Server side of the JupyterLab extension (``labextension/``).

* ``kernel_tokens``: short-lived API tokens bound to one kernel, so a notebook on a server
  shared through ``TokenMapIdentityProvider`` acts as the user who opened it (framework-free
  store, kept in the server process's memory: kernels die with the server).
* ``handlers``: ``POST``/``DELETE kernel-tokens``, ``GET dashboards`` (launcher tiles) and
  ``GET me`` (who you are to astro-ops: roles, whether you decide requests).

The acceptance of kernel tokens (which requests they may authenticate) lives in
``jupyter_astro_ops.auth``, next to the identity provider that honours them.
"""
