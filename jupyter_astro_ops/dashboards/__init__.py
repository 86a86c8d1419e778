"""Panel dashboards; the Jupyter server process never imports panel."""
