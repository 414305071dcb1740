"""Why Lanczos1's certified standard errors are out of reach in double precision.

NIST StRD Lanczos1 (tests/data/nist/Lanczos1.dat) has a certified residual sum
of squares of 1.43e-25: residuals of ~8e-14 on data of order 1, i.e. a few
hundred ulps. The standard errors scale with sqrt(RSS), so they can be no more
accurate than the RSS itself as double-precision residuals give it.

This script fits the model in 50-digit arithmetic (mpmath, Gauss-Newton from
the certified values), checks that its standard errors reproduce the certified
ones (LRE ~11), then rounds that exact minimizer to float64 and computes the
residuals, the RSS and the standard errors in float64, as any double-precision
fitter (MINPACK, scipy, hesse) must. Printed on this machine (numpy, mpmath):

    50-digit fit: rss 1.430786772e-25 SE LRE vs certified [11.41 11.01 10.98 11.86 10.67 10.61]
    that minimizer rounded to f64, residuals in f64: rss 1.4288e-25 SE LRE [3.16 ...]
    f64 rss over 2000 points within 2 ulps of it: min 1.427e-25 median 1.430e-25 max 1.432e-25

So LRE ~3.2 is the floor for Lanczos1's standard errors in float64 (hesse's
`hesse fit` reaches 3.2-3.4); LRE >= 4 would need residuals evaluated in
extended precision. tests/nist.rs does that
(`lanczos1_reaches_the_certified_std_devs_with_residuals_in_double_double`:
data parsed from the file's decimals and residuals evaluated in double-double
with the `qd` crate, the Jacobian in f64): hesse's LevenbergMarquardt then
reaches LRE 7.0 on every standard deviation and 6.7 on the RSS, from both
starts.

Run: python3 scripts/lanczos1_precision.py (needs numpy and mpmath).
"""
import numpy as np, mpmath, sys
txt=open('/work/main/tests/data/nist/Lanczos1.dat').read()
rows=[]
for l in txt.split('Data:')[-1].splitlines():
    t=l.split()
    if len(t)==2:
        try: float(t[0]); float(t[1]); rows.append((t[0],t[1]))
        except ValueError: pass
mpmath.mp.dps=50
M=mpmath.mpf
Y=[M(a) for a,_ in rows]; X=[M(b) for _,b in rows]
y=np.array([float(a) for a,_ in rows]); x=np.array([float(b) for _,b in rows])
cert=np.array([5.3347304234E-11,2.7473038179E-10,1.3576062225E-10,3.3308253069E-10,1.8815731448E-10,1.1057500538E-10])
B=[M(s) for s in ["9.5100000027E-02","1.0000000001E+00","8.6070000013E-01","3.0000000002E+00","1.5575999998E+00","5.0000000001E+00"]]
def resid(B): return [Y[i]-(B[0]*mpmath.exp(-B[1]*X[i])+B[2]*mpmath.exp(-B[3]*X[i])+B[4]*mpmath.exp(-B[5]*X[i])) for i in range(len(Y))]
def jac(B): return mpmath.matrix([[mpmath.exp(-B[1]*X[i]), -B[0]*X[i]*mpmath.exp(-B[1]*X[i]), mpmath.exp(-B[3]*X[i]), -B[2]*X[i]*mpmath.exp(-B[3]*X[i]), mpmath.exp(-B[5]*X[i]), -B[4]*X[i]*mpmath.exp(-B[5]*X[i])] for i in range(len(Y))])
for it in range(6):
    r=mpmath.matrix(resid(B)); J=jac(B)
    d=mpmath.lu_solve(J.T*J, J.T*r)
    B=[B[k]+d[k] for k in range(6)]
r=resid(B); rss=sum(v*v for v in r)
J=jac(B); C=mpmath.inverse(J.T*J)*(rss/18)
se_hp=np.array([float(mpmath.sqrt(C[k,k])) for k in range(6)])
lre=lambda a,c: -np.log10(np.abs(a-c)/np.abs(c))
print("50-digit fit: rss", mpmath.nstr(rss,10), "SE LRE vs certified", np.round(lre(se_hp,cert),2))
b=np.array([float(v) for v in B])
r64=y-(b[0]*np.exp(-b[1]*x)+b[2]*np.exp(-b[3]*x)+b[4]*np.exp(-b[5]*x))
J64=np.column_stack([np.exp(-b[1]*x), -b[0]*x*np.exp(-b[1]*x), np.exp(-b[3]*x), -b[2]*x*np.exp(-b[3]*x), np.exp(-b[5]*x), -b[4]*x*np.exp(-b[5]*x)])
rss64=(r64**2).sum()
se64=np.sqrt(np.diag(np.linalg.inv(J64.T@J64))*rss64/18)
print("that minimizer rounded to f64, residuals in f64: rss %.4e"%rss64, "SE LRE", np.round(lre(se64,cert),2))
# best possible: f64 residuals at every f64 neighbour? perturb by 1 ulp randomly
rng=np.random.default_rng(0); best=[]
for k in range(2000):
    bb=b*(1+rng.integers(-2,3,6)*2.2e-16)
    rr=y-(bb[0]*np.exp(-bb[1]*x)+bb[2]*np.exp(-bb[3]*x)+bb[4]*np.exp(-bb[5]*x))
    best.append((rr**2).sum())
best=np.array(best)
print("f64 rss over 2000 points within 2 ulps of it: min %.3e median %.3e max %.3e"%(best.min(),np.median(best),best.max()))
