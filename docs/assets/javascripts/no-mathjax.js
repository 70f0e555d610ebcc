// The tutorials have no formulas: an empty stand-in for MathJax, so no page loads a script from a CDN.
