"""zcpt-analysis: reproduce and extend *Zero-Cost Proxies Meet Differentiable Architecture Search*."""
__version__ = "0.1.0"
