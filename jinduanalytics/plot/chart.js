/* jinduanalytics link chart: draws a graph laid out in Python on a canvas; no network, no libraries.
   JinduChart(root, data) builds one chart inside `root`; data = {nodes: [{id, label, type, x, y, size,
   attrs}], edges: [{s, t, type, w, first, last, attrs}], colors: {type: colour}, dates: [min, max]}. */
(function () {
  "use strict";
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function rows(obj) {  // attributes as a definition table (text only: values are never parsed as HTML)
    var t = el("table", "jc-attrs");
    Object.keys(obj).forEach(function (k) {
      if (obj[k] === null || obj[k] === undefined || obj[k] === "") return;
      var tr = el("tr");
      tr.appendChild(el("th", null, k));
      tr.appendChild(el("td", null, String(obj[k])));
      t.appendChild(tr);
    });
    return t;
  }
  function dayNum(s) { return s ? Math.round(Date.parse(s + "T00:00:00Z") / 86400000) : null; }
  function dayStr(n) { return new Date(n * 86400000).toISOString().slice(0, 10); }

  function JinduChart(root, data) {
    var self = this;
    var nodes = data.nodes, edges = data.edges;
    var adj = nodes.map(function () { return []; });
    edges.forEach(function (e, i) { adj[e.s].push(i); adj[e.t].push(i); e.d0 = dayNum(e.first); e.d1 = dayNum(e.last); });
    root.classList.add("jc");
    var bar = el("div", "jc-bar");
    var search = el("input", "jc-search");
    search.type = "search";
    search.placeholder = "搜索 search";
    bar.appendChild(search);
    var d0 = data.dates ? dayNum(data.dates[0]) : null, d1 = data.dates ? dayNum(data.dates[1]) : null;
    var from, to, range;
    if (d0 !== null && d1 !== null && d1 > d0) {
      from = el("input", "jc-from"); to = el("input", "jc-to");
      [from, to].forEach(function (r) { r.type = "range"; r.min = d0; r.max = d1; r.step = 1; });
      from.value = d0; to.value = d1;
      range = el("span", "jc-range");
      bar.appendChild(el("span", null, "日期 dates"));
      bar.appendChild(from); bar.appendChild(to); bar.appendChild(range);
    }
    var legend = el("div", "jc-legend");
    var hidden = {};
    Object.keys(data.colors).forEach(function (t) {
      var n = nodes.filter(function (x) { return x.type === t; }).length;
      if (!n) return;
      var item = el("label", "jc-key");
      var box = el("input"); box.type = "checkbox"; box.checked = true;
      box.addEventListener("change", function () { hidden[t] = !box.checked; draw(); });
      var dot = el("span", "jc-dot"); dot.style.background = data.colors[t];
      item.appendChild(box); item.appendChild(dot); item.appendChild(document.createTextNode(t + " " + n));
      legend.appendChild(item);
    });
    var wrap = el("div", "jc-wrap");
    var canvas = el("canvas", "jc-canvas");
    var tip = el("div", "jc-tip"); tip.style.display = "none";
    var panel = el("div", "jc-panel");
    panel.appendChild(el("p", "jc-hint", "点击节点或连线查看证据 click a node or a link to see its evidence"));
    wrap.appendChild(canvas); wrap.appendChild(tip);
    root.appendChild(bar); root.appendChild(legend); root.appendChild(wrap); root.appendChild(panel);

    var W = 0, H = 0, scale = 1, ox = 0, oy = 0, ratio = window.devicePixelRatio || 1;
    var selected = null, hover = null, match = {};
    var xs = nodes.map(function (n) { return n.x; }), ys = nodes.map(function (n) { return n.y; });
    var minx = Math.min.apply(null, xs.concat([0])), maxx = Math.max.apply(null, xs.concat([1]));
    var miny = Math.min.apply(null, ys.concat([0])), maxy = Math.max.apply(null, ys.concat([1]));
    function fit() {
      W = wrap.clientWidth || 800; H = wrap.clientHeight || 560;
      canvas.width = W * ratio; canvas.height = H * ratio;
      canvas.style.width = W + "px"; canvas.style.height = H + "px";
      scale = 0.9 * Math.min(W / Math.max(maxx - minx, 1e-9), H / Math.max(maxy - miny, 1e-9));
      ox = W / 2 - scale * (minx + maxx) / 2; oy = H / 2 - scale * (miny + maxy) / 2;
    }
    function sx(n) { return ox + scale * n.x; }
    function sy(n) { return oy + scale * n.y; }
    function edgeOn(e) {
      if (hidden[nodes[e.s].type] || hidden[nodes[e.t].type]) return false;
      if (!from || e.d0 === null) return true;
      return e.d1 >= +from.value && e.d0 <= +to.value;
    }
    function nodeOn(n) { return !hidden[n.type]; }
    function draw() {
      var ctx = canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, W, H);
      var nE = 0, nN = 0, focus = selected !== null ? selected : null;
      edges.forEach(function (e) {
        if (!edgeOn(e)) return;
        var a = nodes[e.s], b = nodes[e.t];
        ctx.beginPath();
        ctx.moveTo(sx(a), sy(a)); ctx.lineTo(sx(b), sy(b));
        var lit = focus !== null && focus.kind === "node" && (e.s === focus.i || e.t === focus.i);
        lit = lit || (focus !== null && focus.kind === "edge" && edges[focus.i] === e);
        ctx.strokeStyle = lit ? "rgba(200,30,30,0.9)" : "rgba(120,120,120,0.45)";
        ctx.lineWidth = (lit ? 1.5 : 0.6) + e.w;
        ctx.stroke();
        nE++;
      });
      nodes.forEach(function (n, i) {
        if (!nodeOn(n)) return;
        var r = n.size;
        ctx.beginPath();
        ctx.arc(sx(n), sy(n), r, 0, 2 * Math.PI);
        ctx.fillStyle = data.colors[n.type] || "#999999";
        ctx.fill();
        var ring = (focus !== null && focus.kind === "node" && focus.i === i) || match[i] || hover === i;
        ctx.lineWidth = ring ? 3 : 0.7;
        ctx.strokeStyle = ring ? "#c81e1e" : "#333333";
        ctx.stroke();
        nN++;
      });
      if (range) range.textContent = dayStr(+from.value) + " – " + dayStr(+to.value);
      root.dataset.drawnNodes = nN; root.dataset.drawnEdges = nE;
      self.drawnNodes = nN; self.drawnEdges = nE;
    }
    function nodeAt(x, y) {
      var best = null, bd = Infinity;
      nodes.forEach(function (n, i) {
        if (!nodeOn(n)) return;
        var d = Math.hypot(sx(n) - x, sy(n) - y);
        if (d <= n.size + 3 && d < bd) { bd = d; best = i; }
      });
      return best;
    }
    function edgeAt(x, y) {
      var best = null, bd = 5;
      edges.forEach(function (e, i) {
        if (!edgeOn(e)) return;
        var a = nodes[e.s], b = nodes[e.t], ax = sx(a), ay = sy(a), bx = sx(b), by = sy(b);
        var L = (bx - ax) * (bx - ax) + (by - ay) * (by - ay), u = L ? ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / L : 0;
        u = Math.max(0, Math.min(1, u));
        var d = Math.hypot(ax + u * (bx - ax) - x, ay + u * (by - ay) - y);
        if (d < bd) { bd = d; best = i; }
      });
      return best;
    }
    function nodeName(n) { return n.label + " (" + n.type + ")"; }
    function showNode(i) {
      var n = nodes[i];
      panel.textContent = "";
      panel.appendChild(el("h3", null, nodeName(n)));
      panel.appendChild(rows(n.attrs));
      var links = adj[i].filter(function (k) { return edgeOn(edges[k]); });
      panel.appendChild(el("h4", null, "连线 links: " + links.length));
      var list = el("ul", "jc-links");
      links.slice(0, 200).forEach(function (k) {
        var e = edges[k], other = nodes[e.s === i ? e.t : e.s];
        var item = el("li", null, e.type + " — " + nodeName(other) +
          (e.first ? " · " + e.first + (e.last && e.last !== e.first ? " … " + e.last : "") : ""));
        item.appendChild(rows(e.attrs));
        list.appendChild(item);
      });
      panel.appendChild(list);
    }
    function showEdge(k) {
      var e = edges[k];
      panel.textContent = "";
      panel.appendChild(el("h3", null, e.type + ": " + nodeName(nodes[e.s]) + " — " + nodeName(nodes[e.t])));
      var a = {"first date": e.first, "last date": e.last};
      Object.keys(e.attrs).forEach(function (key) { a[key] = e.attrs[key]; });
      panel.appendChild(rows(a));
    }
    function select(x, y) {
      var i = nodeAt(x, y);
      if (i !== null) { selected = {kind: "node", i: i}; showNode(i); }
      else {
        var k = edgeAt(x, y);
        if (k !== null) { selected = {kind: "edge", i: k}; showEdge(k); } else { selected = null; }
      }
      draw();
    }
    function pos(ev) { var r = canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
    var dragging = null;
    canvas.addEventListener("mousedown", function (ev) { dragging = {p: pos(ev), ox: ox, oy: oy, moved: false}; });
    window.addEventListener("mouseup", function (ev) {
      if (dragging && !dragging.moved) { var p = pos(ev); select(p[0], p[1]); }
      dragging = null;
    });
    canvas.addEventListener("mousemove", function (ev) {
      var p = pos(ev);
      if (dragging) {
        var dx = p[0] - dragging.p[0], dy = p[1] - dragging.p[1];
        if (Math.abs(dx) + Math.abs(dy) > 3) dragging.moved = true;
        if (dragging.moved) { ox = dragging.ox + dx; oy = dragging.oy + dy; draw(); return; }
      }
      var i = nodeAt(p[0], p[1]);
      var text = null;
      if (i !== null) {
        var n = nodes[i];
        text = nodeName(n) + " · " + adj[i].length + " links";
      } else {
        var k = edgeAt(p[0], p[1]);
        if (k !== null) {
          var e = edges[k];
          text = e.type + ": " + nodes[e.s].label + " — " + nodes[e.t].label + (e.first ? " · " + e.first : "") +
            (e.attrs.n > 1 ? " · ×" + e.attrs.n : "");
        }
      }
      if (hover !== i) { hover = i; draw(); }
      if (text) {
        tip.textContent = text; tip.style.display = "block";
        tip.style.left = (p[0] + 12) + "px"; tip.style.top = (p[1] + 12) + "px";
      } else { tip.style.display = "none"; }
    });
    canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; hover = null; draw(); });
    canvas.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var p = pos(ev), f = ev.deltaY < 0 ? 1.2 : 1 / 1.2;
      ox = p[0] - f * (p[0] - ox); oy = p[1] - f * (p[1] - oy); scale *= f; draw();
    }, {passive: false});
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      match = {};
      if (q) nodes.forEach(function (n, i) {
        if ((n.label + " " + n.type + " " + (n.search || "")).toLowerCase().indexOf(q) >= 0) match[i] = true;
      });
      var hits = Object.keys(match);
      if (hits.length === 1) { selected = {kind: "node", i: +hits[0]}; showNode(+hits[0]); }
      root.dataset.matches = hits.length;
      draw();
    });
    if (from) {
      [from, to].forEach(function (r) {
        r.addEventListener("input", function () {
          if (+from.value > +to.value) { if (r === from) to.value = from.value; else from.value = to.value; }
          draw();
        });
      });
    }
    window.addEventListener("resize", function () { fit(); draw(); });
    // for scripts and tests: where a node is on the screen
    this.screenPosition = function (label) {
      for (var i = 0; i < nodes.length; i++) {
        if (nodes[i].label === label) {
          var r = canvas.getBoundingClientRect();
          return [r.left + sx(nodes[i]), r.top + sy(nodes[i])];
        }
      }
      return null;
    };
    this.setDates = function (a, b) { if (from) { from.value = dayNum(a); to.value = dayNum(b); draw(); } };
    fit();
    draw();
  }
  window.JinduChart = JinduChart;
  window.jinduCharts = window.jinduCharts || [];
  function start() {
    document.querySelectorAll("div[data-jindu-chart]").forEach(function (root) {
      if (root.dataset.started) return;
      root.dataset.started = "1";
      var data = JSON.parse(document.getElementById(root.dataset.jinduChart).textContent);
      window.jinduCharts.push(new JinduChart(root, data));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
