"""The report page: one self-contained HTML document (inline CSS, images as data URIs, no scripts)."""

REPORT_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lossgap report: {{ run_name }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1000px;
       padding: 1.5rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.meta { color: #555; font-size: .9rem; }
.card { border: 1px solid #ccc; border-left: 6px solid #d95f02; border-radius: 4px; padding: .6rem .9rem;
        margin: .7rem 0; background: #fffaf5; }
.card.healthy { border-left-color: #1b9e77; background: #f5fffa; }
.card h3 { margin: 0 0 .3rem 0; font-size: 1rem; } .conf { color: #555; font-weight: normal; }
.card ul { margin: .3rem 0 0 1.1rem; padding: 0; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .85rem; color: #444; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
td, th { border: 1px solid #ddd; padding: .2rem .5rem; text-align: right; } th { background: #f4f4f4; }
td.text, th.text { text-align: left; }
code, pre { background: #f4f4f4; padding: .1rem .3rem; font-size: .85rem; white-space: pre-wrap; word-break: break-all; }
.considered { color: #666; font-size: .85rem; }
</style></head>
<body>
<h1>lossgap report: {{ run_name }}</h1>
<p class="meta">data <code>{{ source }}</code> &middot; {{ epochs }} epochs &middot; best epoch {{ best_epoch }}
{% if test %}&middot; test accuracy of the delivered model (epoch {{ test.epoch }}): {{ "%.3f"|format(test.accuracy) }}{% endif %}</p>

<h2>Verdict</h2>
<p><strong>{{ headline }}</strong></p>
{% for verdict in verdicts %}
<div class="card"><h3>{{ verdict.cause }} <span class="conf">confidence {{ "%.2f"|format(verdict.confidence) }}</span></h3>
<div>{{ verdict.summary }}</div>
{% if verdict.remedies %}<ul>{% for remedy in verdict.remedies %}<li>{{ remedy.action }}</li>{% endfor %}</ul>{% endif %}
</div>
{% else %}
<div class="card healthy"><h3>no problem found</h3><div>{{ headline }}</div></div>
{% endfor %}
{% if ledger_sentence %}<p><strong>Loss ledger:</strong> {{ ledger_sentence }}</p>{% endif %}
{% for note in limitations %}<p class="considered">note: {{ note }}</p>{% endfor %}
{% if considered %}<p class="considered">checked and unlikely:
{% for verdict in considered %}{{ verdict.cause }} ({{ "%.2f"|format(verdict.confidence) }}){% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}

<h2>Figures</h2>
{% for figure in figures %}
<figure id="figure-{{ figure.name }}"><img alt="{{ figure.name }}" src="data:image/png;base64,{{ figure.data }}">
<figcaption>{{ figure.caption }}</figcaption></figure>
{% endfor %}

{% if suspects %}
<h2>Most suspect training samples</h2>
<table><tr><th class="text">id</th><th class="text">label</th><th>AUM</th><th>confidence</th><th>learned at epoch</th></tr>
{% for row in suspects %}<tr><td class="text">{{ row.id }}</td><td class="text">{{ row.label }}</td><td>{{ "%.3f"|format(row.aum) }}</td>
<td>{{ "%.3f"|format(row.confidence) }}</td><td>{{ row.learned }}</td></tr>{% endfor %}
</table>
{% endif %}

{% if remedy %}
<h2>Remedies tried ({{ remedy.replicates }} seeds each, judged on {{ remedy.metric }})</h2>
<figure id="figure-remedies"><img alt="remedies" src="data:image/png;base64,{{ remedy.image }}">
<figcaption>Each configuration's delivered model: mean and 95% interval over seeds. Green beats the baseline
(dashed line) beyond noise (paired one-sided t-test, p &lt; 0.05); orange does not.</figcaption></figure>
<table><tr><th class="text">configuration</th><th>val loss</th><th>val accuracy</th><th>val balanced accuracy</th><th>beats baseline</th></tr>
{% for row in remedy.rows %}<tr><td class="text">{{ row.name }}</td>
{% for metric in ["val_loss", "val_accuracy", "val_balanced_accuracy"] %}<td>{{ "%.3f"|format(row[metric].mean) }}
[{{ "%.3f"|format(row[metric].low) }}, {{ "%.3f"|format(row[metric].high) }}]</td>{% endfor %}
<td>{{ row.verdict }}</td></tr>{% endfor %}</table>
{% if remedy.winner_command %}<p>Winner: <code>{{ remedy.winner_command }}</code></p>{% endif %}
{% endif %}

<h2>Configuration and environment</h2>
<table>{% for key, value in config_rows %}<tr><th class="text">{{ key }}</th><td class="text">{{ value }}</td></tr>{% endfor %}</table>
{% if command %}<p>Rerun: <code>{{ command }}</code></p>{% else %}<p>Recorded from a training loop outside lossgap: no command to rerun.</p>{% endif %}

<details><summary>Metrics per epoch ({{ epochs }} rows)</summary>
<table><tr>{% for column in metric_columns %}<th>{{ column }}</th>{% endfor %}</tr>
{% for row in metric_rows %}<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}</table>
</details>
<p class="meta">written by lossgap {{ version }}</p>
</body></html>
"""
