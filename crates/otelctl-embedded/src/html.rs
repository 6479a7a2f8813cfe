//! HTML for the viewer: escaping, formatting, the page shell, its style and its script.
//!
//! Pages are complete without the script (server-rendered tables and SVG; every bar is a
//! link). The script adds live updates (an `EventSource` on `/events` that re-fetches the page's
//! fragment) and selection without a reload (the URL keeps `?span=`, so a refresh shows the same
//! selection). The body carries `data-sse` (`open`/`closed`) and `data-updates` (fragments
//! applied), which the browser test reads.

use std::fmt::Write as _;

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root{--fg:#1d2330;--muted:#6b7385;--bg:#f7f8fa;--card:#fff;--line:#e3e6ec;--bar:#3d7eea;--err:#d83a3a;--sel:#f5b400}
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;gap:16px;align-items:center;padding:10px 20px;background:#1d2330;color:#fff}
header h1{font-size:17px;margin:0;font-weight:600}header a{color:#fff;text-decoration:none}
header .spacer{flex:1}#live-status{font-size:12px;padding:2px 8px;border-radius:10px;background:#3a4254}
body[data-sse=open] #live-status{background:#1f8a4c}
button{font:inherit;padding:4px 12px;border:1px solid #aab;border-radius:4px;background:#fff;cursor:pointer}
main{padding:16px 20px}h2{font-size:15px;margin:18px 0 8px}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line)}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid var(--line);white-space:nowrap}
th{font-weight:600;color:var(--muted);font-size:12px}thead th{text-transform:uppercase;letter-spacing:.03em}th.key{font-family:ui-monospace,monospace;color:var(--fg);font-weight:500}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.error td.status{color:var(--err);font-weight:600}td.name{white-space:normal}
.facts{color:var(--muted);margin:0 0 10px}.facts b{color:var(--fg);font-weight:600}
.empty{padding:30px;text-align:center;color:var(--muted);background:var(--card);border:1px dashed var(--line)}
svg.waterfall{background:var(--card);border:1px solid var(--line);font-size:12px}
svg .row{fill:transparent}svg a.bar:hover .row{fill:#eef3fd}svg a.bar.selected .row{fill:#fff6d6}
svg .span{fill:var(--bar)}svg a.bar.error .span{fill:var(--err)}svg a.bar.selected .span{stroke:var(--sel);stroke-width:2}
svg .label{fill:var(--fg)}svg .dur{fill:var(--muted);font-size:11px}svg a.bar.error .dur{fill:var(--err);font-weight:600}
svg .tick{stroke:var(--line)}svg .axis{fill:var(--muted);font-size:11px}
section.attrs{background:var(--card);border:1px solid var(--line);padding:8px 12px;margin-top:10px}
section.attrs h3{margin:0 0 6px;font-size:14px}section.attrs td{white-space:normal;word-break:break-all}
.hint{color:var(--muted);font-size:12px}
form.filters{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;background:var(--card);border:1px solid var(--line);padding:8px 12px;margin:0 0 10px}
form.filters label{font-size:12px;color:var(--muted)}form.filters input,form.filters select{font:inherit;padding:2px 4px}
.problem{color:var(--err);font-weight:600}
svg.scatter,svg.history{background:var(--card);border:1px solid var(--line);font-size:11px;margin-bottom:10px}
svg .axisline{stroke:#aab}svg a.dot circle{fill:var(--bar);opacity:.75}svg a.dot.error circle{fill:var(--err)}svg a.dot:hover circle{opacity:1;stroke:#000}
svg a.run rect{fill:var(--bar)}svg a.run.cached rect{fill:#9db8e8}svg a.run.error rect{fill:var(--err)}
svg .pct{stroke-dasharray:5 3;stroke-width:1.5}svg .pct.p50{stroke:#1f8a4c}svg .pct.p95{stroke:#c46a00}svg .pct-label{fill:var(--fg)}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.legend .svc{margin-right:12px;font-size:12px}.critical-swatch{background:transparent;border:2px solid #111}
svg a.bar.critical .span{stroke:#111;stroke-width:2}svg a.bar.critical .label{font-weight:700}
svg .toggle{fill:var(--muted);cursor:pointer;font-size:11px}svg a.bar.collapsed .toggle{fill:var(--fg)}
.badge{font-size:11px;padding:1px 6px;border-radius:8px;background:#111;color:#fff;font-weight:500}
section.attrs h4{margin:8px 0 4px;font-size:12px;color:var(--muted)}
p.task{margin:2px 0;font-size:13px}p.task.out-of-line{color:#a04000}p.task.out-of-line b{color:#a04000}
table.compare tr.slower td.delta{color:var(--err)}table.compare tr.faster td.delta{color:#1f8a4c}
table.compare tr.only-a td,table.compare tr.only-b td{color:var(--muted);font-style:italic}
b.slower{color:var(--err)}b.faster{color:#1f8a4c}.verdict{font-weight:600}
"#;

const SCRIPT: &str = r#"
(function(){
  var body=document.body, live=document.getElementById('live'), status=document.getElementById('live-status');
  var busy=false, again=false;
  function fragmentUrl(){
    return body.dataset.page==='trace' ? '/fragment/trace/'+body.dataset.trace+location.search : '/fragment/traces'+location.search;
  }
  function relayout(){
    var svg=document.querySelector('svg.waterfall'); if(!svg){return;}
    var rh=Number(svg.dataset.rowHeight), ah=Number(svg.dataset.axisHeight);
    var bars=[].slice.call(svg.querySelectorAll('a.bar')), hideBelow=-1, shown=0;
    bars.forEach(function(a){
      var d=Number(a.dataset.depth);
      if(hideBelow>=0 && d>hideBelow){a.style.display='none';return;}
      hideBelow=-1; a.style.display='';
      a.setAttribute('transform','translate(0,'+((shown-Number(a.dataset.row))*rh)+')'); shown++;
      if(a.classList.contains('collapsed')){hideBelow=d;}
    });
    var h=ah+rh*shown+4, vb=svg.viewBox.baseVal; svg.setAttribute('viewBox','0 0 '+vb.width+' '+h);
    svg.querySelectorAll('line.tick').forEach(function(l){l.setAttribute('y2',h);});
  }
  function refresh(){
    if(busy){again=true;return;}
    busy=true;
    fetch(fragmentUrl(),{cache:'no-store'}).then(function(r){return r.text();}).then(function(html){
      // Keep what the user is doing: a filter being typed, the A/B picks of a comparison.
      var tpl=document.createElement('template'); tpl.innerHTML=html;
      var oldForm=document.getElementById('filters'), newForm=tpl.content.getElementById('filters');
      var focused=document.activeElement, keep=oldForm && newForm && oldForm.contains(focused);
      var caret=keep && typeof focused.selectionStart==='number' ? [focused.selectionStart, focused.selectionEnd] : null;
      if(keep){newForm.replaceWith(oldForm);}
      var picked=[].slice.call(document.querySelectorAll('#compare-form input:checked')).map(function(i){return i.name+'='+i.value;});
      live.replaceChildren(tpl.content);
      if(keep){focused.focus(); if(caret){try{focused.setSelectionRange(caret[0],caret[1]);}catch(e){}}}
      picked.forEach(function(p){var kv=p.split('='); var i=document.querySelector('#compare-form input[name="'+kv[0]+'"][value="'+kv[1]+'"]'); if(i){i.checked=true;}});
      body.dataset.updates=String(Number(body.dataset.updates||0)+1); bind();
    }).catch(function(){}).then(function(){busy=false; if(again){again=false;refresh();}});
  }
  function select(sid){
    document.querySelectorAll('a.bar').forEach(function(a){a.classList.toggle('selected',a.dataset.span===sid);});
    document.querySelectorAll('section.attrs').forEach(function(s){s.hidden=s.dataset.span!==sid;});
    var u=new URL(location.href); u.searchParams.set('span',sid); history.replaceState(null,'',u);
  }
  function bind(){
    document.querySelectorAll('a.bar').forEach(function(a){
      a.addEventListener('click',function(ev){
        ev.preventDefault();
        if(ev.target.classList && ev.target.classList.contains('toggle')){
          a.classList.toggle('collapsed'); ev.target.textContent=a.classList.contains('collapsed')?'▸':'▾'; relayout(); return;
        }
        select(a.dataset.span);
      });
    });
  }
  bind();
  if(body.dataset.page==='compare' || body.dataset.page==='history'){status.textContent='snapshot'; return;}
  if(!window.EventSource){return;}
  var es=new EventSource('/events');
  es.onopen=function(){body.dataset.sse='open'; status.textContent='live';};
  es.onerror=function(){body.dataset.sse='closed'; status.textContent='reconnecting…';};
  es.addEventListener('change',function(ev){
    var d={}; try{d=JSON.parse(ev.data);}catch(e){}
    if(body.dataset.page!=='trace' || d.reset || d.cleared || (d.traces||[]).indexOf(body.dataset.trace)>=0){refresh();}
  });
})();
"#;

/// A whole page around a fragment. `page` is `list`, `trace`, `compare` or `history`.
pub fn page(title: &str, page: &str, trace: Option<&str>, heading: &str, fragment: &str) -> String {
    let mut out = String::with_capacity(fragment.len() + 8192);
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title><style>{STYLE}</style></head><body data-page="{page}"{trace_attr} data-updates="0" data-sse="closed"><header><h1><a href="/">otelctl</a> · {heading}</h1><span class="spacer"></span><span id="live-status">connecting…</span><form method="post" action="/api/clear" onsubmit="return confirm('Clear every stored trace?')"><button type="submit" id="clear">Clear traces</button></form></header><main id="live">{fragment}</main><script>{SCRIPT}</script></body></html>"#,
        title = escape(title),
        trace_attr = trace
            .map(|t| format!(r#" data-trace="{}""#, escape(t)))
            .unwrap_or_default(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
