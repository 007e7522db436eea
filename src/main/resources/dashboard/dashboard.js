/*
 * hope-streams live dashboard: polls v1/dashboard once a second and draws it with ECharts (served from the
 * org.webjars.npm:echarts jar). For tests and debugging the page exposes
 *   window.hopeDashboard = {updates, errors, last, charts: {chartId: echartsInstance}}
 * where updates counts refreshes that fetched and rendered the data, and last is the last data received.
 */
(function () {
  'use strict';

  var REFRESH_MS = 1000;
  var LEVELS = ['HIGH', 'MID', 'LOW'];
  var CHART_IDS = ['chart-bpb', 'chart-steps', 'chart-surprise', 'chart-throughput', 'chart-dlq', 'chart-checkpoints'];

  var dash = window.hopeDashboard = {updates: 0, errors: 0, last: null, charts: {}};

  function base(yAxis) {
    return {
      animation: false,
      grid: {left: 64, right: 64, top: 40, bottom: 28},
      tooltip: {trigger: 'axis'},
      legend: {type: 'scroll', top: 0},
      xAxis: {type: 'time'},
      yAxis: yAxis,
      series: []
    };
  }

  function axis(name, extra) {
    var a = {type: 'value', name: name, scale: true, nameTextStyle: {align: 'left'}};
    for (var k in extra || {}) {
      a[k] = extra[k];
    }
    return a;
  }

  function bytes(v) {
    var units = ['B', 'KiB', 'MiB', 'GiB'];
    var i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? Math.round(v) : v.toFixed(1)) + ' ' + units[i];
  }

  var initial = {
    'chart-bpb': base([axis('bits/byte')]),
    'chart-steps': base([axis('HIGH steps', {min: 0, minInterval: 1}),
      axis('MID, LOW', {min: 0, minInterval: 1, splitLine: {show: false}, nameTextStyle: {align: 'right'}})]),
    'chart-surprise': base([axis('residual norm')]),
    'chart-throughput': base([axis('bytes/s', {min: 0, axisLabel: {formatter: bytes}}),
      axis('records/s', {min: 0, minInterval: 1, splitLine: {show: false}, nameTextStyle: {align: 'right'}})]),
    'chart-dlq': base([axis('per second', {min: 0, minInterval: 1}),
      axis('total', {min: 0, minInterval: 1, splitLine: {show: false}, nameTextStyle: {align: 'right'}})]),
    'chart-checkpoints': base([axis('model version', {min: 0, minInterval: 1})])
  };
  // bars at the first and last second would be cut in half at the plot's edges
  initial['chart-dlq'].xAxis.boundaryGap = ['3%', '3%'];
  initial['chart-checkpoints'].tooltip = {trigger: 'item', formatter: function (p) {
    return p.seriesName + '<br>version ' + p.value[1] + '<br>' + new Date(p.value[0]).toLocaleTimeString()
      + (p.value[2] != null ? '<br>' + bytes(p.value[2]) : '');
  }};

  CHART_IDS.forEach(function (id) {
    var chart = echarts.init(document.getElementById(id));
    chart.setOption(initial[id]);
    dash.charts[id] = chart;
  });
  window.addEventListener('resize', function () {
    CHART_IDS.forEach(function (id) {
      dash.charts[id].resize();
    });
  });

  function line(id, name, data, extra) {
    var s = {id: id, name: name, type: 'line', data: data, showSymbol: data.length < 60, symbolSize: 5};
    for (var k in extra || {}) {
      s[k] = extra[k];
    }
    return s;
  }

  /** The series' data with zeros where whole seconds had no activity (the server keeps only active seconds). */
  function zeroFilled(points, value) {
    var out = [];
    for (var i = 0; i < points.length; i++) {
      var p = points[i];
      if (i > 0 && p.t - points[i - 1].t > 1000) {
        out.push([points[i - 1].t + 1000, 0]);
        if (p.t - 1000 > points[i - 1].t + 1000) {
          out.push([p.t - 1000, 0]);
        }
      }
      out.push([p.t, value(p)]);
    }
    if (points.length > 0 && Date.now() - points[points.length - 1].t > 2500) {
      out.push([points[points.length - 1].t + 1000, 0]);
    }
    return out;
  }

  function setSeries(id, series) {
    dash.charts[id].setOption({series: series}, {replaceMerge: ['series']});
  }

  function renderBitsPerByte(points) {
    var overall = [];
    var classes = {};
    points.forEach(function (p) {
      if (p.bitsPerByte != null) {
        overall.push([p.t, p.bitsPerByte]);
      }
      var byClass = p.bitsPerByteByClass || {};
      Object.keys(byClass).forEach(function (c) {
        (classes[c] = classes[c] || []).push([p.t, byClass[c]]);
      });
    });
    var series = [line('overall', 'all keys', overall, {lineStyle: {width: 3}, itemStyle: {color: '#1f2933'}, z: 3})];
    Object.keys(classes).sort().forEach(function (c) {
      series.push(line('class:' + c, c, classes[c]));
    });
    setSeries('chart-bpb', series);
  }

  function renderSteps(points) {
    var data = [[], [], []];
    var max = [0, 0, 0];
    points.forEach(function (p) {
      if (!p.records) {
        return; // a second with dead letters only: no learner reported its steps
      }
      for (var i = 0; i < 3; i++) {
        max[i] = Math.max(max[i], (p.steps || [])[i] || 0);
        data[i].push([p.t, max[i]]);
      }
    });
    setSeries('chart-steps', LEVELS.map(function (level, i) {
      return line('level:' + level, level, data[i], {step: 'end', yAxisIndex: i === 0 ? 0 : 1});
    }));
  }

  function renderSurprise(points) {
    var blocks = 0;
    points.forEach(function (p) {
      blocks = Math.max(blocks, (p.surprise || []).length);
    });
    var series = [];
    for (var b = 0; b < blocks; b++) {
      var data = [];
      points.forEach(function (p) {
        if (p.records && p.surprise && p.surprise.length > b) {
          data.push([p.t, p.surprise[b]]);
        }
      });
      series.push(line('block:' + b, 'block ' + b, data));
    }
    setSeries('chart-surprise', series);
  }

  function renderThroughput(points) {
    setSeries('chart-throughput', [
      line('bytes', 'bytes/s', zeroFilled(points, function (p) { return p.bytesPerSecond; }), {areaStyle: {opacity: 0.15}}),
      line('records', 'records/s', zeroFilled(points, function (p) { return p.records; }), {yAxisIndex: 1})
    ]);
  }

  function renderDeadLetters(points) {
    var perSecond = [];
    var total = [];
    var sum = 0;
    points.forEach(function (p) {
      if (p.deadLetters) {
        perSecond.push([p.t, p.deadLetters]);
      }
      sum += p.deadLetters || 0;
      total.push([p.t, sum]);
    });
    setSeries('chart-dlq', [
      {id: 'per-second', name: 'dead letters/s', type: 'bar', data: perSecond, barMaxWidth: 14, itemStyle: {color: '#d64545'}},
      line('total', 'total', total, {step: 'end', yAxisIndex: 1, itemStyle: {color: '#8e1c1c'}})
    ]);
    return sum;
  }

  function renderCheckpoints(checkpoints) {
    var byPartition = {};
    checkpoints.forEach(function (c) {
      (byPartition[c.partition] = byPartition[c.partition] || []).push([c.wallTime, c.version, c.bytes]);
    });
    setSeries('chart-checkpoints', Object.keys(byPartition).sort(function (a, b) { return a - b; }).map(function (p) {
      return line('partition:' + p, 'partition ' + p, byPartition[p], {step: 'end', showSymbol: true, symbolSize: 8});
    }));

    var body = document.querySelector('#checkpoint-table tbody');
    var rows = checkpoints.slice(-10).reverse();
    body.innerHTML = '';
    if (rows.length === 0) {
      body.innerHTML = '<tr class="empty"><td colspan="4">no checkpoint yet</td></tr>';
      return;
    }
    rows.forEach(function (c) {
      var tr = document.createElement('tr');
      tr.className = 'checkpoint';
      [String(c.version), String(c.partition), new Date(c.wallTime).toLocaleString(), bytes(c.bytes)]
        .forEach(function (text) {
          var td = document.createElement('td');
          td.textContent = text;
          tr.appendChild(td);
        });
      body.appendChild(tr);
    });
  }

  function stat(id, value, text) {
    var el = document.getElementById(id);
    el.dataset.value = value == null ? '' : String(value);
    el.textContent = text != null ? text : value == null ? '–' : Number(value).toLocaleString('en-US');
  }

  function render(d) {
    var points = (d.points || []).slice().sort(function (a, b) { return a.t - b.t; });
    var checkpoints = d.checkpoints || [];
    renderBitsPerByte(points);
    renderSteps(points);
    renderSurprise(points);
    renderThroughput(points);
    var deadLetters = renderDeadLetters(points);
    renderCheckpoints(checkpoints);

    var steps = d.steps || [0, 0, 0];
    var lastBpb = null;
    for (var i = points.length - 1; i >= 0 && lastBpb == null; i--) {
      lastBpb = points[i].bitsPerByte;
    }
    stat('stat-records', d.records);
    stat('stat-version', d.version);
    stat('stat-high', steps[0]);
    stat('stat-mid', steps[1]);
    stat('stat-low', steps[2]);
    stat('stat-bpb', lastBpb, lastBpb == null ? '–' : lastBpb.toFixed(3));
    stat('stat-dlq', deadLetters);
    stat('stat-checkpoints', checkpoints.length);
    renderShards(d.shards);
  }

  // One model across shards (hope.shards.enabled): absent while it is off, and the panel stays hidden.
  function renderShards(s) {
    document.getElementById('stat-global-box').hidden = !s;
    document.getElementById('shards-card').hidden = !s;
    if (!s) {
      return;
    }
    stat('stat-global', s.globalVersion);
    var body = document.querySelector('#shards-table tbody');
    body.textContent = '';
    s.tasks.forEach(function (t) {
      var tr = document.createElement('tr');
      [t.partition, t.baseVersion, t.lag, t.unmerged].forEach(function (v) {
        var td = document.createElement('td');
        td.textContent = String(v);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function status(ok, text) {
    var el = document.getElementById('status');
    el.className = 'status ' + (ok ? 'ok' : 'error');
    el.textContent = text;
  }

  function refresh() {
    fetch('v1/dashboard', {cache: 'no-store', headers: {Accept: 'application/json'}})
      .then(function (r) {
        if (!r.ok) {
          throw new Error('HTTP ' + r.status);
        }
        return r.json();
      })
      .then(function (d) {
        render(d);
        dash.last = d;
        dash.updates++;
        status(true, 'live · updated ' + new Date().toLocaleTimeString());
      })
      .catch(function (e) {
        dash.errors++;
        status(false, 'no data: ' + e.message);
        if (window.console) {
          console.error('dashboard refresh failed', e);
        }
      })
      .then(function () {
        setTimeout(refresh, REFRESH_MS);
      });
  }

  refresh();
})();
