"""The raw outputs of one structure-study measurement (Tables 2 and 3): normtest's
dimension-mode table and powerlaw-fit's --views table, read per view (`iteration`,
`dimension`) with DuckDB."""
import duckdb


def read(normtest_csv, views_csv):
    """{view: dict(ks_d_mean, ks_crit, power_law_rate_pct, powerlaw_sets_tested,
    powerlaw_sets_skipped, p_mean, gaussian_rate_pct, normtest_sets)}."""
    nt = {w: (p, g, n) for w, p, g, n in duckdb.sql(f"""
        SELECT wise, mean_p, gaussian_pct, sets_tested FROM read_csv('{normtest_csv}')
        WHERE tensor = 'all' AND test = 'dagostino'""").fetchall()}
    pl = {v: (ks, rate, t, s, c) for v, ks, rate, t, s, c in duckdb.sql(f"""
        SELECT view, mean_ks_d, power_law_rate, sets_tested, sets_skipped, ks_crit
        FROM read_csv('{views_csv}')""").fetchall()}
    out = {}
    for view in ("iteration", "dimension"):
        ks, rate, tested, skipped, dc = pl[view]
        mp, gp, ntested = nt[view]
        out[view] = dict(ks_d_mean=ks, ks_crit=dc, power_law_rate_pct=100 * rate,
                         powerlaw_sets_tested=tested, powerlaw_sets_skipped=skipped,
                         p_mean=mp, gaussian_rate_pct=gp, normtest_sets=ntested)
    return out
