(function () {
  "use strict";
  var config = {displaylogo: false, responsive: true,
                modeBarButtonsToRemove: ["sendDataToCloud", "toImage"]};
  var drawn = [];
  document.querySelectorAll("div.chart[data-figure]").forEach(function (el) {
    var src = document.getElementById(el.getAttribute("data-figure"));
    if (!src) { return; }
    var fig = JSON.parse(src.textContent);
    Plotly.newPlot(el, fig.data || [], fig.layout || {}, config);
    drawn.push(el);
  });
  function resizeAll() { drawn.forEach(function (el) { Plotly.Plots.resize(el); }); }
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
