(function () {
  "use strict";
  var E = (window.estates = { ready: false, layers: {} });
  var C = null;
  var ENT = { amp: "&", lt: "<", gt: ">", quot: '"', "#x27": "'" };
  var GBP = "\u00a3";

  function unescapeHtml(s) {
    return String(s).replace(/&(amp|lt|gt|quot|#x27);/g, function (_, k) { return ENT[k]; });
  }
  function missing(x) { return x === null || x === undefined; }
  // A number as Intl.NumberFormat("en-GB", {minimumFractionDigits: lo,
  // maximumFractionDigits: hi}) writes it: a comma between thousands, and
  // rounded half away from zero on the number's shortest decimal form (as
  // ICU rounds: 1.005 to two places is 1.01). Written here because a page's
  // first Intl format costs 30-40 ms of start-up before the page is ready.
  var DECIMAL = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;
  function grouped(x, lo, hi) {
    if (!isFinite(x)) {
      return new Intl.NumberFormat("en-GB", { minimumFractionDigits: lo,
                                              maximumFractionDigits: hi }).format(x);
    }
    // |x| is 0.<digits> times ten to the power <point>.
    var m = DECIMAL.exec(String(Math.abs(x)));
    var digits = m[1] + (m[2] || ""), point = m[1].length + (m[3] ? Number(m[3]) : 0);
    var keep = point + hi;  // how many digits are left once rounded to hi places
    if (keep < digits.length) {
      var up = keep >= 0 && digits.charCodeAt(keep) >= 53;  // the first dropped is 5 to 9
      digits = digits.slice(0, Math.max(keep, 0));
      if (up) {
        var k = digits.length - 1;
        while (k >= 0 && digits.charAt(k) === "9") k--;
        var zeros = "0".repeat(digits.length - k - 1);
        if (k < 0) {  // 9.99 to 10.0: one more digit before the point
          digits = "1" + zeros;
          point += 1;
        } else {
          digits = digits.slice(0, k) + (Number(digits.charAt(k)) + 1) + zeros;
        }
      }
    }
    var whole = point > 0 ? digits.slice(0, point).padEnd(point, "0") : "0";
    var frac = point >= 0 ? digits.slice(point) : "0".repeat(-point) + digits;
    frac = frac.replace(/0+$/, "").padEnd(lo, "0");
    return (x < 0 || 1 / x < 0 ? "-" : "") + whole.replace(/\B(?=(\d{3})+$)/g, ",") +
      (frac ? "." + frac : "");
  }
  function num(x, d) { return grouped(x, d, d); }
  function intText(x) { return grouped(x, 0, 3); }
  function fmtHa(x) {
    if (missing(x)) return "n/a";
    var a = Math.abs(x);
    return num(x, a < 10 ? 2 : a < 1000 ? 1 : 0) + " ha";
  }
  function trim(t) { return t.indexOf(".") < 0 ? t : t.replace(/0+$/, "").replace(/\.$/, ""); }
  function fmtGbp(x) {
    if (missing(x)) return "n/a";
    var s = x < 0 ? "-" : "", a = Math.abs(x);
    if (a >= 1e9) return s + GBP + trim((a / 1e9).toFixed(2)) + "bn";
    if (a >= 1e6) return s + GBP + trim((a / 1e6).toFixed(1)) + "m";
    if (a >= 1e3) return s + GBP + (a / 1e3).toFixed(0) + "k";
    return s + GBP + a.toFixed(0);
  }
  function fmtShare(x) {
    if (missing(x)) return "n/a";
    var p = x * 100;
    return (Math.abs(p) < 1 ? p.toFixed(2) : p.toFixed(1)) + "%";
  }
  function fmtScore(x) { return missing(x) ? "n/a" : x.toFixed(2); }
  E.format = { ha: fmtHa, gbp: fmtGbp, share: fmtShare, score: fmtScore, number: grouped };

  function scoreColour(s) {
    if (missing(s)) return C.unscored;
    for (var i = 0; i < C.scoreBins.length; i++) {
      if (s <= C.scoreBins[i]) return C.scorePalette[i];
    }
    return C.scorePalette[C.scorePalette.length - 1];
  }
  function radius(ha) {
    if (missing(ha) || !(ha > 0)) return C.rMin;
    return Math.min(C.rMax, C.rMin + C.rPerSqrtHa * Math.sqrt(ha));
  }

  // Shapes that do nothing for a keyboard user stay out of the tab order and
  // of the accessibility tree (Chromium makes interactive SVG paths focusable).
  function quiet(l) {
    l.on("add", function () {
      var el = l.getElement && l.getElement();
      if (!el) return;
      el.setAttribute("tabindex", "-1");
      el.setAttribute("focusable", "false");
      el.setAttribute("aria-hidden", "true");
    });
  }

  // Small screens (a phone, or a desktop window zoomed to 200%): the panel and
  // the layer list fold behind buttons. JS and CSS agree through a class.
  var COMPACT = "(max-width: 700px), (max-height: 500px)";
  function compact() { return window.matchMedia(COMPACT).matches; }

  E.init = function (map, data) {
    E.map = map;
    E.data = data;
    C = data.config;
    var F = {}, P = {};
    data.sites.fields.forEach(function (f, i) { F[f] = i; });
    data.sites.profile_fields.forEach(function (f, i) { P[f] = i; });
    E.F = F;
    E.P = P;
    var box = map.getContainer();
    box.setAttribute("data-estates-map", C.mapId);
    // The whole page is the map with its panel: it is the page's main landmark.
    var main = document.createElement("main");
    main.className = "est-main";
    box.parentNode.insertBefore(main, box);
    main.appendChild(box);
    box.setAttribute("aria-label", "Map");
    if (compact()) box.classList.add("est-compact");
    if (C.attribution) map.attributionControl.addAttribution(C.attribution);
    // Fit the view before any layer is added, so nothing is projected twice.
    // The padding leaves room for the side panel and the layer list.
    var wide = map.getSize().x > 760 && !compact();
    map.fitBounds(C.bounds, {
      paddingTopLeft: [wide ? 340 : 12, 16], paddingBottomRight: [wide ? 190 : 12, 40],
      animate: false
    });
  };

  E.boroughLayer = function (key) {
    var spec = E.data.choropleths[key];
    var layer = L.geoJSON(E.data.boroughs, {
      style: function (f) {
        return { fillColor: spec.fills[f.properties.i], fillOpacity: C.fillOpacity,
                 color: "#ffffff", weight: 1.2, opacity: 1,
                 className: "estates-borough" + (outside(f.properties.i) ? " estates-outside" : "") };
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(f.properties.tip, { sticky: true, className: "est-tip" });
        l.bindPopup(f.properties.popup, { maxWidth: 320 });
        l.on("mouseover", function () { l.setStyle({ weight: 2.5, color: "#1f2933" }); });
        l.on("mouseout", function () { layer.resetStyle(l); });
        quiet(l);
      }
    });
    layer.estatesKey = key;
    E.layers["boroughs_" + key] = layer;
    return layer;
  };

  E.outlineLayer = function (key) {
    var spec = E.data.outlines[key];
    // The page's own pilot is drawn last, so a neighbour's shared edge does not hide it.
    var features = spec.geojson.features.filter(function (f) { return !f.properties.focus; })
      .concat(spec.geojson.features.filter(function (f) { return f.properties.focus; }));
    var layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
      style: function (f) {
        var colour = (spec.colours && spec.colours[f.properties.id]) || spec.colour;
        return { color: colour, weight: f.properties.focus ? spec.weight * 1.7 : spec.weight,
                 dashArray: spec.dash, fill: false, opacity: 0.95,
                 className: "estates-outline estates-" + key };
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(f.properties.tip, { sticky: true, className: "est-tip" });
        quiet(l);
      }
    });
    E.layers[key] = layer;
    return layer;
  };

  // A group whose layers are made when it is first added to the map: the
  // context records are off at first, and most readers never switch them on.
  var LazyGroup = L.FeatureGroup.extend({
    initialize: function (fill) {
      L.FeatureGroup.prototype.initialize.call(this);
      this._fill = fill;
    },
    beforeAdd: function () {
      var fill = this._fill;
      this._fill = null;
      if (fill) fill(this);
    }
  });

  E.contextLayer = function (kind) {
    var spec = E.data.context[kind];
    var group = new LazyGroup(function (g) {
      spec.rows.forEach(function (r) {
        var m = L.circleMarker([r[1], r[0]], {
          radius: 3.5, color: "#ffffff", weight: 1, fillColor: spec.colour, fillOpacity: 1,
          className: "estates-context"
        });
        m.bindTooltip(r[3] + '<span class="est-code">' + r[2] + "</span><br>" + spec.label,
                      { className: "est-tip" });
        quiet(m);
        g.addLayer(m);
      });
    });
    E.layers["context_" + kind] = group;
    return group;
  };

  // The sites travel a list per field (E.data.sites.columns[E.F.name] is
  // every site's name), which the browser reads far faster than a list per
  // site; one site's values, as a list in field order, are gathered here.
  function siteCount() { return E.data.sites.columns[E.F.code].length; }
  function siteRow(i) {
    var cols = E.data.sites.columns, r = new Array(cols.length);
    for (var j = 0; j < cols.length; j++) r[j] = cols[j][i];
    return r;
  }
  E.siteRow = siteRow;
  function text(r, field) {
    var S = E.data.sites;
    var v = S.strings[S.profiles[r[E.F.profile]][E.P[field]]];
    return missing(v) ? "" : v;
  }
  function tr(label, value) { return "<tr><th>" + label + "</th><td>" + value + "</td></tr>"; }

  function sitePopup(i) {
    var F = E.F, r = siteRow(i);
    var h = '<div class="est-popup" data-site-code="' + r[F.code] + '">';
    h += '<div class="est-title">' + r[F.name] + "</div>";
    h += '<div class="est-sub">' + r[F.code] +
      (text(r, "type") ? " · " + text(r, "type") : "") + "</div>";
    var rank = r[F.rank];
    h += '<div class="est-rank">' +
      (missing(rank) ? "Not ranked" : "Rank <b>" + intText(rank) + "</b> of " +
       intText(C.rankedTotal) + " in London" + pilotRankText(i)) +
      " · disposal score <b>" + fmtScore(r[F.score]) + "</b></div>";
    h += '<table class="est-facts">';
    h += tr("Trust", text(r, "trust") || "n/a");
    h += tr("Borough", (text(r, "borough") || "n/a") +
      (text(r, "subregion") ? " (" + text(r, "subregion") + ")" : ""));
    var pilots = text(r, "pilots");
    if (pilots.length) h += tr("Pilots", pilots.join("<br>"));
    h += tr("Land owned", fmtHa(r[F.owned_ha]));
    h += tr("Unused land", fmtHa(r[F.unused_ha]) +
      (missing(r[F.unused_share]) ? "" : " (" + fmtShare(r[F.unused_share]) + " of owned)"));
    h += tr("Value (midpoint)", fmtGbp(r[F.value_gbp]));
    var method = text(r, "method"), source = text(r, "source");
    h += tr("Valuation", (method || "n/a") +
      (source && source !== method ? '<div class="est-note">' + source + "</div>" : ""));
    h += tr("Backlog", fmtGbp(r[F.backlog_gbp]));
    h += tr("PFI", missing(r[F.pfi]) ? "n/a" : r[F.pfi] ? "Yes" : "No");
    h += tr("Located by", (text(r, "located_by") || "n/a") +
      (text(r, "join_method") ? " · " + text(r, "join_method") : ""));
    h += '</table><div class="est-h">Score parts (0–1)</div><table class="est-parts">';
    C.parts.forEach(function (p) {
      var v = r[F[p[0]]];
      var w = missing(v) ? 0 : Math.round(Math.max(0, Math.min(1, v)) * 100);
      h += "<tr><th>" + p[1] + '</th><td><span class="est-bar"><span style="width:' + w +
        '%"></span></span></td><td class="est-num">' + fmtScore(v) + "</td></tr>";
    });
    h += "</table>";
    var flags = text(r, "flags");
    h += '<div class="est-h">Data-quality flags</div>' + (flags.length
      ? '<ul class="est-flags"><li>' + flags.join("</li><li>") + "</li></ul>"
      : '<div class="est-note">None</div>');
    return h + "</div>";
  }
  E.sitePopup = sitePopup;

  function dressMarker(m) {
    var el = m.getElement && m.getElement();
    if (!el) return;
    var F = E.F, r = siteRow(m.estatesIndex);
    el.setAttribute("tabindex", "0");
    el.setAttribute("role", "button");
    el.setAttribute("data-est-i", String(m.estatesIndex));
    el.setAttribute("aria-label", unescapeHtml(r[F.name]) + " (" + unescapeHtml(r[F.code]) +
                    "): open its details");
  }

  function siteLatLng(i) {
    var F = E.F, cols = E.data.sites.columns;
    return L.latLng(cols[F.lat][i], cols[F.lon][i]);
  }
  function siteRadius(i) { return radius(E.data.sites.columns[E.F.unused_ha][i]); }
  E.siteLatLng = siteLatLng;

  function siteTip(i) {
    var F = E.F, cols = E.data.sites.columns;
    return cols[F.name][i] + '<span class="est-code">' + cols[F.code][i] + "</span>";
  }

  // The site layer composes its sites in memory as ImageData's bytes (red,
  // green, blue, alpha), premultiplied by alpha and read four at a time as
  // an int: alpha is the int's top byte on a little-endian machine, its
  // bottom byte on a big-endian one.
  var ALPHA_SHIFT = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 24 : 0;

  // A sprite beneath the pixels of a buffer ``width`` pixels wide, its top
  // left corner at (x, y): each channel of the sprite's pixel is scaled by
  // the share the pixel over it leaves uncovered, (255 - its alpha) / 255,
  // rounded to the nearest, and added; two channels to a multiplication.
  // ``full`` counts the pixels wholly covered in each block of 8 × 8
  // (``blocks`` to a row of the buffer): a sprite whose blocks are all
  // covered would add nothing, and is passed over.
  function composeBeneath(buf, width, x, y, sprite, full, blocks) {
    var j, n = sprite.count, px = sprite.px;
    if (covered(full, blocks, x, y, x + sprite.side - 1, y + sprite.side - 1)) return;
    if (sprite.width !== width) {  // where each pixel falls, from the corner
      for (j = 0; j < n; j++) sprite.offsets[j] = px[2 * j + 1] * width + px[2 * j];
      sprite.width = width;
    }
    var corner = y * width + x, offsets = sprite.offsets, colours = sprite.colours;
    for (j = 0; j < n; j++) {
      var k = corner + offsets[j], over = buf[k], f = 255 - ((over >>> ALPHA_SHIFT) & 255);
      if (f === 0) continue;
      var src = colours[j];
      var rb = (Math.imul(src & 0xff00ff, f) + 0x800080) | 0;
      var ga = (Math.imul((src >>> 8) & 0xff00ff, f) + 0x800080) | 0;
      rb = (((rb + ((rb >>> 8) & 0xff00ff)) | 0) >>> 8) & 0xff00ff;
      ga = ((ga + ((ga >>> 8) & 0xff00ff)) | 0) & 0xff00ff00;
      var composed = buf[k] = (over + (rb | ga)) | 0;
      if (((composed >>> ALPHA_SHIFT) & 255) === 255) {
        full[((y + px[2 * j + 1]) >> 3) * blocks + ((x + px[2 * j]) >> 3)]++;
      }
    }
  }

  // Whether every block of 8 × 8 pixels from pixel (x0, y0) to (x1, y1) is
  // wholly covered.
  function covered(full, blocks, x0, y0, x1, y1) {
    for (var by = y0 >> 3; by <= y1 >> 3; by++) {
      for (var bx = x0 >> 3; bx <= x1 >> 3; bx++) if (full[by * blocks + bx] !== 64) return false;
    }
    return true;
  }

  // A 2D canvas off screen where the browser draws on one, else an element.
  function scratchCanvas(options) {
    if (typeof OffscreenCanvas === "function") {
      var offscreen = new OffscreenCanvas(1, 1);
      if (offscreen.getContext("2d", options)) return offscreen;
    }
    var canvas = document.createElement("canvas");
    canvas.getContext("2d", options);
    return canvas;
  }

  // A page with many sites draws them on the map's canvas as one layer, with
  // no Leaflet object per site: the sites' positions are projected into
  // typed arrays and each is drawn as Leaflet's canvas renderer draws a
  // circle marker (the same rounded position and radius, colours, opacity
  // and order), and the pointer finds the topmost site as the renderer would.
  var SiteSwarm = L.Path.extend({
    options: { fill: true, color: "#1f2933", weight: 1, opacity: 0.9, fillOpacity: 0.9 },

    initialize: function (cols) {
      var F = E.F, n = cols[F.lat].length;
      var lat = cols[F.lat], lon = cols[F.lon], unused = cols[F.unused_ha], score = cols[F.score];
      L.setOptions(this, {});
      this._n = n;
      this._r = new Float64Array(n);
      this._maxR = 0;
      this._colour = new Array(n);
      this._lat = new Float64Array(n);
      this._lon = new Float64Array(n);
      for (var i = 0; i < n; i++) {
        this._lat[i] = lat[i];
        this._lon[i] = lon[i];
        this._r[i] = radius(unused[i]);
        if (this._r[i] > this._maxR) this._maxR = this._r[i];
        this._colour[i] = scoreColour(score[i]);
      }
      this._x = new Float64Array(n);
      this._y = new Float64Array(n);
      this._shown = new Uint8Array(n).fill(1);
      this._mx = null;
      this._hit = -1;
      this._sprites = {};
      this._spriteScale = 0;
    },

    // Which sites are drawn: shown[i] is 1 for a site drawn, 0 for one hidden.
    setShown: function (shown) {
      this._shown.set(shown);
      return this.redraw();
    },
    isShown: function (i) { return this._shown[i] === 1; },

    // Off the map, the layer lets go of its buffers (each the canvas's size).
    onRemove: function (map) {
      L.Path.prototype.onRemove.call(this, map);
      this._composed = this._full = this._image = this._stage = null;
    },

    _project: function () {
      var map = this._map, crs = map.options.crs, n = this._n;
      if (!this._mx) {
        // Projected metres, the same for every zoom.
        this._mx = new Float64Array(n);
        this._my = new Float64Array(n);
        var proj = crs.projection, k;
        if (proj === L.Projection.SphericalMercator) {
          // Leaflet's own formula, step for step (the same doubles), with no
          // LatLng or Point object made per site.
          var d = Math.PI / 180, max = proj.MAX_LATITUDE, R = proj.R;
          for (k = 0; k < n; k++) {
            var sin = Math.sin(Math.max(Math.min(max, this._lat[k]), -max) * d);
            this._mx[k] = R * this._lon[k] * d;
            this._my[k] = R * Math.log((1 + sin) / (1 - sin)) / 2;
          }
        } else {
          for (k = 0; k < n; k++) {
            var q = proj.project(L.latLng(this._lat[k], this._lon[k]));
            this._mx[k] = q.x;
            this._my[k] = q.y;
          }
        }
      }
      // As map.latLngToLayerPoint: scaled to the zoom, rounded, less the pixel origin.
      var scale = crs.scale(map.getZoom()), origin = map.getPixelOrigin();
      var p = L.point(0, 0), tol = this._clickTolerance();
      var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      for (var i = 0; i < n; i++) {
        p.x = this._mx[i];
        p.y = this._my[i];
        crs.transformation._transform(p, scale);
        var x = this._x[i] = Math.round(p.x) - origin.x;
        var y = this._y[i] = Math.round(p.y) - origin.y;
        if (!this._shown[i]) continue;
        var w = this._r[i] + tol;
        if (x - w < minX) minX = x - w;
        if (y - w < minY) minY = y - w;
        if (x + w > maxX) maxX = x + w;
        if (y + w > maxY) maxY = y + w;
      }
      this._pxBounds = minX <= maxX ? L.bounds([minX, minY], [maxX, maxY]) : null;
    },

    _update: function () {},

    // One circle of a fill colour and radius, drawn once as Leaflet draws it
    // (fill, then outline, each at its opacity) at the renderer's pixel
    // scale, and kept as its pixels: the place in the sprite of each pixel it
    // covers, and its colour, packed. Every sprite is drawn on one canvas,
    // resized (and so cleared) for each, which is quicker than a canvas each.
    _sprite: function (colour, r, scale) {
      var o = this.options, c = r + Math.ceil(o.weight) + 1, side = 2 * c * scale;
      var canvas = this._spriteCanvas ||
        (this._spriteCanvas = scratchCanvas({ willReadFrequently: true }));
      canvas.width = canvas.height = side;
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.setTransform(scale, 0, 0, scale, 0, 0);
      ctx.beginPath();
      ctx.arc(c, c, r, 0, Math.PI * 2, false);
      ctx.globalAlpha = o.fillOpacity;
      ctx.fillStyle = colour;
      ctx.fill("evenodd");
      ctx.globalAlpha = o.opacity;
      ctx.lineWidth = o.weight;
      ctx.strokeStyle = o.color;
      ctx.lineCap = o.lineCap;
      ctx.lineJoin = o.lineJoin;
      ctx.stroke();
      var data = ctx.getImageData(0, 0, side, side).data, count = 0, k;
      for (k = 3; k < data.length; k += 4) if (data[k]) count++;
      var px = new Int16Array(2 * count), colours = new Int32Array(count);
      var bytes = new Uint8Array(colours.buffer), j = 0;
      for (k = 0; k < data.length; k += 4) {
        var a = data[k + 3];
        if (!a) continue;
        px[2 * j] = (k >> 2) % side;
        px[2 * j + 1] = Math.floor((k >> 2) / side);
        bytes[4 * j] = Math.round(data[k] * a / 255);
        bytes[4 * j + 1] = Math.round(data[k + 1] * a / 255);
        bytes[4 * j + 2] = Math.round(data[k + 2] * a / 255);
        bytes[4 * j + 3] = a;
        j++;
      }
      return {
        c: c, side: side, count: count, px: px, colours: colours,
        width: 0, offsets: new Int32Array(count)
      };
    },

    // The sites are composed in memory and drawn on the renderer's canvas as
    // one image: tens of thousands of copies on a canvas each cost the
    // browser far more than the arithmetic. They are composed front to back,
    // each beneath the ones drawn after it, so that a pixel the nearer sites
    // already cover wholly is passed over (most of them, where sites lie
    // many deep); composing is associative, so the picture is the one drawn
    // back to front, to rounding.
    _updatePath: function () {
      var renderer = this._renderer;
      if (!renderer._drawing) return;
      var ctx = renderer._ctx, view = renderer._bounds, clip = renderer._redrawBounds;
      var x0 = view.min.x, y0 = view.min.y, x1 = view.max.x, y1 = view.max.y;
      if (clip) {
        x0 = Math.max(x0, clip.min.x); y0 = Math.max(y0, clip.min.y);
        x1 = Math.min(x1, clip.max.x); y1 = Math.min(y1, clip.max.y);
      }
      // The renderer's canvas is scaled (2 on a high-density screen) and
      // shifted by whole pixels, so a sprite lands on its pixels one for one.
      var t = ctx.getTransform(), scale = t.a;
      if (scale !== this._spriteScale) {
        this._sprites = {};
        this._spriteScale = scale;
      }
      // The part of the canvas to draw, in its own pixels.
      var left = Math.max(0, Math.floor(x0 * scale + t.e));
      var top = Math.max(0, Math.floor(y0 * scale + t.f));
      var W = Math.min(ctx.canvas.width, Math.ceil(x1 * scale + t.e)) - left;
      var H = Math.min(ctx.canvas.height, Math.ceil(y1 * scale + t.f)) - top;
      if (W <= 0 || H <= 0) return;
      // The sites are composed in a buffer with a margin around the part to
      // draw wide enough for the sprite of any site drawn (its centre within
      // its radius and the click tolerance of the part, the sprite reaching
      // its rounded radius, the outline and a pixel beyond the centre).
      var tol = this._clickTolerance();
      var margin = Math.ceil((2 * this._maxR + tol + Math.ceil(this.options.weight) + 3) * scale);
      var width = W + 2 * margin, height = H + 2 * margin, blocks = (width + 7) >> 3;
      var image = this._image, buf = this._composed, full = this._full;
      if (image && image.width === width && image.height === height) {
        buf.fill(0);
        full.fill(0);
      } else {  // ImageData over the same bytes, for the canvas to read at the end
        buf = this._composed = new Int32Array(width * height);
        full = this._full = new Uint8Array(blocks * ((height + 7) >> 3));
        image = this._image = new ImageData(new Uint8ClampedArray(buf.buffer), width, height);
      }
      var sprites = this._sprites, drawn = 0;  // by colour, then radius
      for (var i = this._n - 1; i >= 0; i--) {
        if (!this._shown[i]) continue;
        var x = this._x[i], y = this._y[i], w = this._r[i] + tol;
        if (x + w < x0 || x - w > x1 || y + w < y0 || y - w > y1) continue;
        var r = Math.max(Math.round(this._r[i]), 1), colour = this._colour[i];
        var sized = sprites[colour] || (sprites[colour] = []);
        var sprite = sized[r] || (sized[r] = this._sprite(colour, r, scale));
        var sx = (x - sprite.c) * scale + t.e - left, sy = (y - sprite.c) * scale + t.f - top;
        composeBeneath(buf, width, sx + margin, sy + margin, sprite, full, blocks);
        drawn++;
      }
      if (!drawn) return;
      // Inside the margin, the colours as ImageData holds them: not premultiplied.
      var data = image.data;
      for (var row = margin; row < margin + H; row++) {
        for (var k = 4 * (row * width + margin), end = k + 4 * W; k < end; k += 4) {
          var alpha = data[k + 3];
          if (alpha === 0 || alpha === 255) continue;
          data[k] = data[k] * 255 / alpha;
          data[k + 1] = data[k + 1] * 255 / alpha;
          data[k + 2] = data[k + 2] * 255 / alpha;
        }
      }
      var stage = this._stage || (this._stage = scratchCanvas());
      if (stage.width !== W || stage.height !== H) {
        stage.width = W;
        stage.height = H;
      }
      stage.getContext("2d").putImageData(image, -margin, -margin, margin, margin, W, H);
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.globalAlpha = 1;
      ctx.drawImage(stage, left, top);
      ctx.restore();
    },

    // The topmost drawn site under the point, kept for the event that follows.
    _containsPoint: function (p) {
      var tol = this._clickTolerance();
      for (var i = this._n - 1; i >= 0; i--) {
        if (!this._shown[i]) continue;
        var dx = p.x - this._x[i], dy = p.y - this._y[i], w = this._r[i] + tol;
        if (dx * dx + dy * dy <= w * w) { this._hit = i; return true; }
      }
      this._hit = -1;
      return false;
    }
  });

  function swarmLayer(cols) {
    var layer = new SiteSwarm(cols), tip = null, tipped = -1;
    function untip() {
      if (tip) E.map.closeTooltip(tip);
      tip = null;
      tipped = -1;
    }
    layer.on("click", function () { if (layer._hit >= 0) E.openSite(layer._hit); });
    layer.on("mousemove", function () {
      var i = layer._hit;
      if (i < 0 || i === tipped) return;
      untip();
      tipped = i;
      tip = L.tooltip({ direction: "top", offset: [0, -siteRadius(i)], className: "est-tip" })
        .setLatLng(siteLatLng(i)).setContent(siteTip(i));
      E.map.openTooltip(tip);
    });
    layer.on("mouseout remove", untip);
    return layer;
  }

  E.siteLayer = function () {
    var F = E.F, cols = E.data.sites.columns, n = siteCount();
    if (E.map.options.preferCanvas) {
      E.markers = null;
      E.layers.sites = swarmLayer(cols);
      return E.layers.sites;
    }
    var group = L.featureGroup();
    var markers = new Array(n);
    for (var i = 0; i < n; i++) {
      var m = L.circleMarker([cols[F.lat][i], cols[F.lon][i]], {
        radius: radius(cols[F.unused_ha][i]), fillColor: scoreColour(cols[F.score][i]),
        fillOpacity: 0.9,
        color: "#1f2933", weight: 1, opacity: 0.9, className: "estates-site"
      });
      m.estatesIndex = i;
      markers[i] = m;
      group.addLayer(m);
    }
    group.on("click", function (e) { E.openSite(e.layer.estatesIndex); });
    group.on("mouseover", function (e) {
      var m = e.layer;
      if (!m.getTooltip()) {
        m.bindTooltip(siteTip(m.estatesIndex),
                      { direction: "top", offset: [0, -m.getRadius()], className: "est-tip" });
        m.openTooltip();
      }
    });
    // Drawn as SVG, each marker is a button in the tab order: Enter opens it.
    // Drawn on a canvas, the search and the site list reach every site.
    group.on("add", function () { markers.forEach(dressMarker); });
    E.markers = markers;
    E.layers.sites = group;
    return group;
  };

  // The sites drawn on the map now (the filters of the table hide some).
  E.drawnSites = function () {
    var layer = E.layers.sites, out = [];
    if (!E.markers) {
      for (var i = 0; i < layer._n; i++) if (layer.isShown(i)) out.push(i);
      return out;
    }
    return layer.getLayers().map(function (m) { return m.estatesIndex; });
  };

  // Draw exactly the sites whose visible[i] is 1. A marker drawn again gets
  // its keyboard attributes back (Leaflet draws it anew).
  function showSites(visible) {
    var group = E.layers.sites;
    if (!group) return;
    if (!E.markers) { group.setShown(visible); return; }
    for (var k = 0; k < visible.length; k++) {
      var m = E.markers[k], has = group.hasLayer(m);
      if (visible[k] && !has) { group.addLayer(m); dressMarker(m); }
      else if (!visible[k] && has) group.removeLayer(m);
    }
  }

  E.openSite = function (i) {
    var size = E.map.getSize(), small = compact(), wide = size.x > 760 && !small;
    // On a small screen the panels fold away and the popup keeps clear of the
    // buttons at the top and the credits at the bottom, scrolling inside itself.
    E.opener = document.activeElement;
    if (small) E.fold();
    var width = Math.max(160, Math.min(360, size.x - 48));
    var top = 16, bottom = small ? 44 : 16;
    if (small) {
      // Clear of the folded panel (the title) and the zoom buttons.
      var mapTop = E.map.getContainer().getBoundingClientRect().top;
      var zoom = E.map.getContainer().querySelector(".leaflet-control-zoom");
      top = Math.max(E.panel.getBoundingClientRect().bottom,
                     zoom ? zoom.getBoundingClientRect().bottom : 0) - mapTop + 10;
    }
    E.popup = L.popup({ maxWidth: width, minWidth: Math.min(260, width),
                        maxHeight: Math.max(120, size.y - top - bottom - 60),
                        autoPanPaddingTopLeft: [wide ? 330 : 12, top],
                        autoPanPaddingBottomRight: [wide ? 200 : 12, bottom],
                        offset: [0, 7 - siteRadius(i)] })
      .setLatLng(siteLatLng(i))
      .setContent(sitePopup(i))
      .openOn(E.map);
    E.popupSite = i;
    return E.popup;
  };

  E.focusSite = function (i) {
    var map = E.map;
    if (!map.hasLayer(E.layers.sites)) map.addLayer(E.layers.sites);
    E.siteView(i);
    return E.openSite(i);
  };

  // ---- Geographic context: borough names, greyed boroughs, a site jump that shows its borough ----

  // On a pilot's page, is borough i outside the pilot (drawn grey)?
  function outside(i) { return !!(E.data.geo && E.data.geo.outside[i]); }

  // Borough names: one non-interactive label per borough in a pane of their own
  // above the shapes, out of the tab order and hidden from assistive technology
  // (the borough's popup and the panel carry the name). Their size follows the
  // zoom, and where two would overlap the larger borough's name is kept.
  E.labelLayer = function () {
    var map = E.map;
    if (!map.getPane("estLabels")) {
      var pane = map.createPane("estLabels");
      pane.style.zIndex = 450;
      pane.style.pointerEvents = "none";
      pane.setAttribute("aria-hidden", "true");
    }
    var group = L.layerGroup();
    var items = ((E.data.geo && E.data.geo.labels) || []).map(function (b) {
      var m = L.marker([b[0], b[1]], {
        pane: "estLabels", interactive: false, keyboard: false,
        icon: L.divIcon({ className: "est-label", html: "<span>" + b[2] + "</span>",
                          iconSize: null })
      });
      m.estPriority = b[3];
      group.addLayer(m);
      return m;
    });
    items.sort(function (a, b) { return a.estPriority - b.estPriority; });
    function declutter() {
      if (!map.hasLayer(group)) return;
      var z = map.getZoom(), box = map.getContainer();
      box.classList.toggle("est-labels-small", z < 10.75);
      box.classList.toggle("est-labels-large", z >= 12.5);
      var placed = [], frame = box.getBoundingClientRect();
      // Every name is measured before any is hidden, so the page is laid out
      // once rather than once per name (a name's box does not depend on
      // whether another is shown).
      var shown = items.filter(function (m) { return m.getElement(); });
      var boxes = shown.map(function (m) {
        var el = m.getElement();
        el.setAttribute("aria-hidden", "true");
        el.removeAttribute("tabindex");
        return el.firstChild.getBoundingClientRect();
      });
      shown.forEach(function (m, k) {
        var el = m.getElement(), r = boxes[k];
        // A name cut by the map's edge is hidden rather than shown in part.
        var cut = r.left < frame.left || r.right > frame.right ||
                  r.top < frame.top || r.bottom > frame.bottom;
        var hit = z < 8.75 || cut || placed.some(function (p) {
          return r.left < p.right + 4 && r.right > p.left - 4 &&
                 r.top < p.bottom + 2 && r.bottom > p.top - 2;
        });
        el.style.visibility = hit ? "hidden" : "";
        el.classList.toggle("est-label-hidden", hit);
        if (!hit) placed.push(r);
      });
    }
    group.on("add", function () { declutter(); map.on("moveend resize", declutter); });
    group.on("remove", function () { map.off("moveend resize", declutter); });
    E.declutterLabels = declutter;
    E.layers.labels = group;
    return group;
  };

  // The bounds of the borough site i lies in: by the borough its row names,
  // else the first borough whose bounds hold it; null if none does.
  var boroughBounds = {};
  function boundsOfBorough(k) {
    if (!boroughBounds[k]) boroughBounds[k] = L.geoJSON(E.data.boroughs.features[k]).getBounds();
    return boroughBounds[k];
  }
  E.boroughOf = function (i) {
    var r = siteRow(i), name = text(r, "borough");
    var names = (E.data.geo && E.data.geo.names) || [];
    var k = name ? names.indexOf(name) : -1;
    if (k < 0) {
      var at = L.latLng(r[E.F.lat], r[E.F.lon]);
      for (var j = 0; j < E.data.boroughs.features.length; j++) {
        if (E.data.boroughs.features[j].geometry && boundsOfBorough(j).contains(at)) { k = j; break; }
      }
    }
    return k;
  };

  // A jump to a site (search, list, link) shows the site and its borough: the
  // view fits the borough's bounds with the site, clear of the side panel, and
  // never closer than the usual site zoom; a site in no borough is zoomed to.
  E.siteView = function (i) {
    var map = E.map, at = siteLatLng(i), k = E.boroughOf(i);
    if (k < 0) {
      map.setView(at, Math.max(map.getZoom(), C.focusZoom), { animate: false });
      return;
    }
    var area = L.latLngBounds(boundsOfBorough(k).getSouthWest(), boundsOfBorough(k).getNorthEast());
    area.extend(at);
    var size = map.getSize(), small = compact(), wide = size.x > 760 && !small;
    // Room above for the site's popup, which opens upwards, so that opening it
    // does not pan the borough out of view.
    map.fitBounds(area, {
      paddingTopLeft: [wide ? 340 : 12, small ? 60 : Math.min(480, size.y * 0.55)],
      paddingBottomRight: [wide ? 190 : 12, 40],
      maxZoom: C.focusZoom, animate: false
    });
  };

  // ---- end of the geographic context ----

  var keys = null;
  E.search = function (query) {
    var F = E.F, cols = E.data.sites.columns;
    if (!keys) {
      keys = cols[F.code].map(function (code, i) {
        return [unescapeHtml(code).toLowerCase(), unescapeHtml(cols[F.name][i]).toLowerCase()];
      });
    }
    var q = String(query).trim().toLowerCase();
    if (!q) return [];
    var exact = [], starts = [], contains = [];
    for (var i = 0; i < keys.length; i++) {
      var code = keys[i][0], name = keys[i][1];
      if (code === q) exact.push(i);
      else if (code.indexOf(q) === 0 || name.indexOf(q) === 0) starts.push(i);
      else if (name.indexOf(q) >= 0 || code.indexOf(q) >= 0) contains.push(i);
      if (exact.length >= C.searchLimit) break;
    }
    return exact.concat(starts, contains).slice(0, C.searchLimit);
  };

  function wireSearch(root) {
    var input = root.querySelector(".est-search input");
    var out = root.querySelector(".est-results");
    var F = E.F;
    var hits = [];
    function show() {
      hits = E.search(input.value);
      if (!input.value.trim()) { out.innerHTML = ""; return; }
      if (!hits.length) { out.innerHTML = '<li class="est-empty">No site matches</li>'; return; }
      out.innerHTML = hits.map(function (i) {
        var r = siteRow(i);
        var where = [text(r, "trust"), text(r, "borough")].filter(Boolean).join(" · ");
        return '<li><button type="button" data-i="' + i + '"><span class="est-li-main">' +
          '<span class="est-li-name">' + r[F.name] + '<span class="est-code">' + r[F.code] +
          "</span></span>" + (where ? '<span class="est-li-meta">' + where + "</span>" : "") +
          "</span></button></li>";
      }).join("");
    }
    input.addEventListener("input", show);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && hits.length) { e.preventDefault(); E.focusSite(hits[0]); }
      if (e.key === "Escape") { input.value = ""; show(); }
    });
    root.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-i]");
      if (b) E.focusSite(Number(b.getAttribute("data-i")));
    });
  }

  function restack() {
    var L_ = E.layers, map = E.map;
    ["boroughs_unused", "boroughs_value"].forEach(function (k) {
      if (L_[k] && map.hasLayer(L_[k])) L_[k].bringToBack();
    });
    C.stack.forEach(function (k) {
      if (L_[k] && map.hasLayer(L_[k])) L_[k].bringToFront();
    });
  }

  // A popup is a dialog: it is named, takes the focus, closes on Escape and
  // gives the focus back to what opened it.
  function wirePopups(map) {
    var opener = null;
    map.on("popupopen", function (e) {
      var el = e.popup.getElement();
      var active = E.opener || document.activeElement;
      E.opener = null;
      opener = active && active !== document.body && !el.contains(active) ? active : null;
      var title = el.querySelector(".est-title") || el.querySelector(".est-popup h3, .est-popup b");
      el.setAttribute("role", "dialog");
      el.setAttribute("aria-label", title ? title.textContent : "Details");
      var content = el.querySelector(".leaflet-popup-content");
      content.setAttribute("tabindex", "-1");
      content.focus({ preventScroll: true });
    });
    map.on("popupclose", function (e) {
      var el = e.popup.getElement();
      var active = document.activeElement;
      var lost = !active || active === document.body || (el && el.contains(active));
      var back = opener;
      opener = null;
      if (!lost || !back || !document.contains(back)) return;
      if (E.panel.contains(back) && back.offsetParent === null) E.unfold();
      back.focus({ preventScroll: true });
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && map._popup && map.hasLayer(map._popup)) {
        e.preventDefault();
        map.closePopup();
      }
    });
    map.getContainer().addEventListener("keydown", function (e) {
      var t = e.target;
      if ((e.key === "Enter" || e.key === " ") && t.getAttribute && t.hasAttribute("data-est-i")) {
        e.preventDefault();
        E.openSite(Number(t.getAttribute("data-est-i")));
      }
    });
  }

  // Buttons that fold the panel and the layer list away on a small screen.
  function wireToolbar(map) {
    var box = map.getContainer();
    var layers = box.querySelector(".leaflet-control-layers");
    if (layers) layers.id = "est-layers";
    E.panel.id = "est-panel";
    var Bar = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "est-toolbar");
        div.innerHTML =
          '<button type="button" aria-controls="est-panel" aria-expanded="false"' +
          ' data-open="est-panel-open">Key and sites</button>' +
          '<button type="button" aria-controls="est-layers" aria-expanded="false"' +
          ' data-open="est-layers-open">Layers</button>';
        L.DomEvent.disableClickPropagation(div);
        return div;
      }
    });
    var bar = new Bar().addTo(map).getContainer();
    // The buttons sit above the panel in the same corner.
    bar.parentNode.insertBefore(bar, bar.parentNode.firstChild);
    var buttons = bar.querySelectorAll("button");
    function set(which) {
      buttons.forEach(function (b) {
        var open = b.getAttribute("data-open") === which;
        box.classList.toggle(b.getAttribute("data-open"), open);
        b.setAttribute("aria-expanded", String(open));
      });
    }
    E.fold = function () { set(null); };
    E.unfold = function () { set("est-panel-open"); };
    bar.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-open]");
      if (!b) return;
      set(b.getAttribute("aria-expanded") === "true" ? null : b.getAttribute("data-open"));
    });
    var mq = window.matchMedia(COMPACT);
    var onChange = function () {
      box.classList.toggle("est-compact", mq.matches);
      if (!mq.matches) set(null);
    };
    if (mq.addEventListener) mq.addEventListener("change", onChange);
    onChange();
    // The skip link opens the panel first when it is folded away.
    var skip = document.querySelector(".est-skip");
    if (skip) {
      skip.addEventListener("click", function (e) {
        var target = document.getElementById(skip.getAttribute("href").slice(1));
        if (!target) return;
        e.preventDefault();
        if (compact()) E.unfold();
        target.focus();
      });
    }
  }

  // Printing: the view is refitted to the page's area (a pilot's boroughs) on
  // a map of the printed size, and the title, figures, legend and full site
  // list are laid out around it (see @media print in map.css).
  function wirePrint(map) {
    var saved = null;
    var made = [];
    function copy(node, cls, before) {
      if (!node) return null;
      var wrap = document.createElement("div");
      wrap.className = "est-print " + cls;
      var c = node.cloneNode(true);
      c.removeAttribute("id");
      c.querySelectorAll("[id]").forEach(function (x) { x.removeAttribute("id"); });
      c.querySelectorAll("details").forEach(function (d) { d.open = true; });
      if (c.tagName === "DETAILS") c.open = true;
      wrap.appendChild(c);
      var host = document.querySelector(".est-main");
      host.parentNode.insertBefore(wrap, before ? host : host.nextSibling);
      made.push(wrap);
      return wrap;
    }
    function before() {
      if (saved) return;
      saved = { center: map.getCenter(), zoom: map.getZoom() };
      var p = E.panel;
      copy(p.querySelector(".est-list"), "est-print-list", false);
      var key = copy(p.querySelector(".est-legend"), "est-print-key", false);
      // The context records' key is printed only when one of their layers is drawn.
      var context = Object.keys(E.data.context).some(function (k) {
        return map.hasLayer(E.layers["context_" + k]);
      });
      if (key && !context) {
        key.querySelectorAll(".est-legend-context").forEach(function (n) { n.remove(); });
      }
      copy(p.querySelector(".est-head"), "est-print-head", true);
      document.documentElement.classList.add("est-printing");
      map.closePopup();
      map.invalidateSize({ animate: false });
      map.fitBounds(C.bounds, { padding: [6, 6], animate: false });
    }
    function after() {
      if (!saved) return;
      document.documentElement.classList.remove("est-printing");
      made.forEach(function (n) { n.remove(); });
      made = [];
      map.invalidateSize({ animate: false });
      map.setView(saved.center, saved.zoom, { animate: false });
      saved = null;
    }
    E.printLayout = before;
    E.screenLayout = after;
    window.addEventListener("beforeprint", before);
    window.addEventListener("afterprint", after);
    var mq = window.matchMedia("print");
    var onChange = function () { if (mq.matches) before(); else after(); };
    if (mq.addEventListener) mq.addEventListener("change", onChange);
  }

  // ---------------------------------------------------------------------
  // The tables under the map: the sites drawn (sorted, filtered, a page of
  // rows at a time, downloadable as CSV) and the boroughs; a #site=CODE link.
  // The filters hide markers on the map too, so table and map always agree.
  // ---------------------------------------------------------------------
  var pilotRanks = null;
  // On a pilot's page, a site's rank among the pilot's ranked sites (the page
  // draws only the pilot's sites), from their ranks in London.
  function pilotRankOf(i) {
    if (!C.pilotPage) return null;
    if (!pilotRanks) {
      var rank = E.data.sites.columns[E.F.rank], n = rank.length;
      var ranked = [];
      for (var k = 0; k < n; k++) if (!missing(rank[k])) ranked.push(k);
      ranked.sort(function (a, b) { return rank[a] - rank[b] || a - b; });
      pilotRanks = new Array(n).fill(null);
      ranked.forEach(function (k, pos) { pilotRanks[k] = pos + 1; });
    }
    return pilotRanks[i];
  }
  function pilotRankText(i) {
    var p = pilotRankOf(i);
    return missing(p) ? "" : " · <b>#" + intText(p) + "</b> in this pilot";
  }

  // Spreadsheet-safe CSV text: the tool's own rule (estates.io.csv_text), whose
  // two patterns the page carries verbatim in its config.
  function spreadsheetSafe(t) {
    var s = String(t);
    return new RegExp(C.csvFormulaStart).test(s) && !new RegExp(C.csvPlainNumber).test(s)
      ? "'" + s : s;
  }
  function csvCell(t) {
    var s = spreadsheetSafe(t);
    return /[,"\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function csvNumber(x) { return missing(x) ? "" : String(x); }

  function scoreBand(s) {
    if (missing(s)) return "none";
    for (var b = 0; b < C.scoreBins.length; b++) if (s <= C.scoreBins[b]) return String(b);
    return String(C.scoreBins.length - 1);
  }

  var T = null;

  function wireTables(map) {
    var sec = document.querySelector(".est-tables");
    if (!sec) return;
    var main = document.querySelector(".est-main");
    if (main) main.parentNode.insertBefore(sec, main.nextSibling);
    var F = E.F, P = E.P, S = E.data.sites, cols = S.columns, n = siteCount();
    var profile = cols[F.profile], rank = cols[F.rank], name = cols[F.name], code = cols[F.code];
    var unused = cols[F.unused_ha], value = cols[F.value_gbp], score = cols[F.score];
    var pfiOf = cols[F.pfi];
    var tbody = sec.querySelector(".est-site-table tbody");
    var count = sec.querySelector(".est-count");
    var pageLabel = sec.querySelector(".est-page");
    var prev = sec.querySelector('[data-page="prev"]');
    var next = sec.querySelector('[data-page="next"]');
    function ref(k, field) { return S.profiles[profile[k]][P[field]]; }
    function str(k, field) { var v = S.strings[ref(k, field)]; return missing(v) ? "" : v; }
    function lower(v) { return unescapeHtml(v).toLowerCase(); }

    // Sort keys, one array per column; null sorts last either way.
    var keyCache = {};
    // Each site's place in rank order (unranked last, ties in drawing order),
    // and that order: the table's first order. Where the ranks are whole
    // numbers no larger than a few times the number of sites (as a ranking
    // gives them), it is a count of the sites at each rank, with no sort.
    // Made when first needed (a sort, a filter, another page, the CSV): the
    // first page needs only the best-ranked sites (firstByRank).
    var ranked = null;
    function rankOrder() {
      if (ranked) return ranked;
      var rankPos = new Float64Array(n), byRank = new Array(n);
      var whole = true, top = 0, k, pos;
      for (k = 0; k < n; k++) {
        var x = rank[k];
        if (missing(x)) continue;
        if (!(x >= 0 && x === Math.floor(x))) whole = false;
        else if (x > top) top = x;
      }
      var o = null;
      if (whole && top <= 4 * n + 65536) {
        // start[r]: where the sites ranked r begin; the unranked take top + 1.
        var start = new Float64Array(top + 2);
        for (k = 0; k < n; k++) start[missing(rank[k]) ? top + 1 : rank[k]]++;
        for (var r = 0, sum = 0; r < top + 2; r++) {
          var c = start[r];
          start[r] = sum;
          sum += c;
        }
        for (k = 0; k < n; k++) {
          pos = start[missing(rank[k]) ? top + 1 : rank[k]]++;
          rankPos[k] = pos;
          byRank[pos] = k;
        }
        return (ranked = { pos: rankPos, order: byRank });
      }
      if (whole && (top + 2) * n < 9007199254740992) {
        var key = new Float64Array(n);
        for (k = 0; k < n; k++) {
          var v = rank[k];
          key[k] = (missing(v) ? top + 1 : v) * n + k;
        }
        key.sort();
        o = new Array(n);
        for (k = 0; k < n; k++) o[k] = key[k] % n;
      } else {
        o = [];
        for (k = 0; k < n; k++) o.push(k);
        o.sort(function (a, b) {
          var x = rank[a], y = rank[b];
          if (missing(x) || missing(y)) return missing(x) ? (missing(y) ? a - b : 1) : -1;
          return x - y || a - b;
        });
      }
      for (pos = 0; pos < n; pos++) {
        rankPos[o[pos]] = pos;
        byRank[pos] = o[pos];
      }
      return (ranked = { pos: rankPos, order: byRank });
    }
    // The first ``m`` sites of rank order, without ordering them all: one
    // pass that keeps the best ``m`` so far, in order (a site displaces the
    // last only if it ranks strictly before it, so ties stay in drawing order).
    function firstByRank(m) {
      var best = [], keyOf = [];
      for (var k = 0; k < n; k++) {
        var key = missing(rank[k]) ? Infinity : rank[k];
        if (best.length === m && !(key < keyOf[m - 1])) continue;
        var at = best.length === m ? m - 1 : best.length;
        while (at > 0 && key < keyOf[at - 1]) {
          best[at] = best[at - 1];
          keyOf[at] = keyOf[at - 1];
          at--;
        }
        best[at] = k;
        keyOf[at] = key;
      }
      return best;
    }
    function keys(col) {
      if (keyCache[col]) return keyCache[col];
      var out = new Array(n), byText = {}, rankPos = col === "rank" ? rankOrder().pos : null;
      for (var k = 0; k < n; k++) {
        var v;
        if (col === "rank") v = rankPos[k];
        else if (col === "name") v = lower(name[k]);
        else if (col === "trust" || col === "borough") {
          var j = ref(k, col);
          v = byText[j] !== undefined ? byText[j] : (byText[j] = lower(S.strings[j] || ""));
          if (v === "") v = null;
        } else if (col === "unused") v = unused[k];
        else if (col === "value") v = value[k];
        else if (col === "score") v = score[k];
        else if (col === "pfi") v = pfiOf[k];
        else if (col === "flags") v = str(k, "flags").length;
        out[k] = missing(v) ? null : v;
      }
      return (keyCache[col] = out);
    }
    var FIRST_DOWN = { unused: 1, value: 1, score: 1, flags: 1, pfi: 1 };
    // The sites in the table's order, and those of them the filters let
    // through, are made when first read: until a sort or a filter, they are
    // every site in rank order, and the first page needs only its first rows.
    var state = { col: "rank", dir: 1, page: 0, visible: new Uint8Array(n), filters: {},
                  _order: null, _shown: null };
    Object.defineProperty(state, "order", {
      enumerable: true,
      get: function () { return this._order || (this._order = rankOrder().order); },
      set: function (order) { this._order = order; }
    });
    Object.defineProperty(state, "shown", {
      enumerable: true,
      get: function () { return this._shown || (this._shown = this.order.slice()); },
      set: function (shown) { this._shown = shown; }
    });
    function sortRows() {
      var key = keys(state.col), dir = state.dir, rankPos = rankOrder().pos, o = [];
      for (var k = 0; k < n; k++) o.push(k);
      o.sort(function (a, b) {
        var x = key[a], y = key[b];
        if (x === null || y === null) {
          if (x === y) return rankPos[a] - rankPos[b];
          return x === null ? 1 : -1;
        }
        if (x < y) return -dir;
        if (x > y) return dir;
        return rankPos[a] - rankPos[b];
      });
      state.order = o;
    }

    // Filters: options for the trusts and the flags come from the data.
    var trustSel = sec.querySelector('[data-filter="trust"]');
    var flagSel = sec.querySelector('[data-filter="flags"]');
    // Thousands of profiles share a few dozen trusts and lists of flags:
    // each text is read once.
    var trusts = {}, flagList = [], flagSeen = {}, listSeen = {};
    S.profiles.forEach(function (p) {
      var t = p[P.trust], list = p[P.flags];
      if (S.strings[t] && !trusts.hasOwnProperty(t)) trusts[t] = lower(S.strings[t]);
      if (listSeen.hasOwnProperty(list)) return;
      listSeen[list] = true;
      (S.strings[list] || []).forEach(function (f) {
        if (!flagSeen.hasOwnProperty(f)) { flagSeen[f] = flagList.length; flagList.push(f); }
      });
    });
    Object.keys(trusts).sort(function (a, b) {
      return trusts[a] < trusts[b] ? -1 : trusts[a] > trusts[b] ? 1 : 0;
    }).forEach(function (t) {
      var o = document.createElement("option");
      o.value = t;
      o.innerHTML = S.strings[t];  // escaped in Python, like every text of the payload
      trustSel.appendChild(o);
    });
    flagList.forEach(function (f, k) {
      var o = document.createElement("option");
      o.value = "f" + k;
      o.innerHTML = "Flag: " + f;
      flagSel.appendChild(o);
    });
    function passes(k) {
      var f = state.filters;
      if (f.score && scoreBand(score[k]) !== f.score) return false;
      if (f.trust && String(ref(k, "trust")) !== f.trust) return false;
      if (f.pfi && (missing(pfiOf[k]) || String(pfiOf[k]) !== f.pfi)) return false;
      if (f.unused && !(unused[k] > 0)) return false;
      if (f.flags) {
        var fl = str(k, "flags");
        if (f.flags === "+" && !fl.length) return false;
        if (f.flags === "-" && fl.length) return false;
        if (f.flags.charAt(0) === "f" && fl.indexOf(flagList[Number(f.flags.slice(1))]) < 0) {
          return false;
        }
      }
      return true;
    }
    // Show on the map exactly the sites that pass; a marker shown again gets
    // its keyboard attributes back (Leaflet draws it anew).
    function syncMarkers() {
      showSites(state.visible);
      // A site's popup closes when its marker is hidden.
      var popup = map._popup;
      if (popup && map.hasLayer(popup) && popup === E.popup && !state.visible[E.popupSite]) {
        map.closePopup();
      }
    }
    function filter() {
      var shown = [], vis = state.visible;
      for (var k = 0; k < n; k++) vis[k] = passes(k) ? 1 : 0;
      state.order.forEach(function (k) { if (vis[k]) shown.push(k); });
      state.shown = shown;
    }
    function rankCell(k) {
      if (missing(rank[k])) return "Not ranked";
      var london = "#" + intText(rank[k]) + " in London";
      var p = pilotRankOf(k);
      return missing(p) ? london
        : "#" + intText(p) + ' in this pilot<span class="est-code">' + london +
          "</span>";
    }
    function rowHtml(k) {
      var pfi = missing(pfiOf[k]) ? "n/a" : pfiOf[k] ? "Yes" : "No";
      return '<tr data-i="' + k + '"><td class="est-num">' + rankCell(k) + "</td>" +
        '<th scope="row"><button type="button" data-i="' + k + '">' + name[k] +
        '</button><span class="est-code">' + code[k] + "</span></th>" +
        "<td>" + (str(k, "trust") || "n/a") + "</td><td>" + (str(k, "borough") || "n/a") +
        '</td><td class="est-num">' + fmtHa(unused[k]) + '</td><td class="est-num">' +
        fmtGbp(value[k]) + '</td><td class="est-num">' + fmtScore(score[k]) +
        "</td><td>" + pfi + "</td><td>" + str(k, "flags").join("; ") + "</td></tr>";
    }
    function render() {
      var per = C.tablePage, total = state._shown ? state._shown.length : n;
      var pages = Math.max(1, Math.ceil(total / per));
      state.page = Math.min(Math.max(0, state.page), pages - 1);
      var start = state.page * per, end = Math.min(total, start + per);
      var rows = !state._shown && !start ? firstByRank(end) : state.shown.slice(start, end);
      tbody.innerHTML = rows.map(rowHtml).join("");
      var of = intText(n);
      count.textContent = !n ? "No located site on this map."
        : !total ? "No site matches these filters (0 of " + of + ")."
        : "Rows " + intText(start + 1) + "–" + intText(end) +
          " of " + intText(total) + " sites" +
          (total < n ? " matching the filters (of " + of + " on the map)." : ".");
      pageLabel.textContent = "Page " + (state.page + 1) + " of " + pages;
      prev.disabled = state.page === 0;
      next.disabled = state.page >= pages - 1;
      prev.parentNode.hidden = pages === 1;
    }
    function refresh(keepPage) {
      filter();
      if (!keepPage) state.page = 0;
      render();
    }
    function readFilters() {
      var f = {};
      sec.querySelectorAll("[data-filter]").forEach(function (el) {
        f[el.getAttribute("data-filter")] = el.type === "checkbox" ? el.checked : el.value;
      });
      state.filters = f;
      refresh(false);
      syncMarkers();
    }
    function setSort(col) {
      if (state.col === col) state.dir = -state.dir;
      else { state.col = col; state.dir = FIRST_DOWN[col] ? -1 : 1; }
      sec.querySelectorAll(".est-site-table th[aria-sort]").forEach(function (th) {
        th.removeAttribute("aria-sort");
      });
      var th = sec.querySelector('[data-sort="' + col + '"]').parentNode;
      th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
      sortRows();
      refresh(false);
    }
    function openRow(k) {
      var box = map.getContainer();
      var r = box.getBoundingClientRect();
      if (r.bottom < 40 || r.top > window.innerHeight - 40) box.scrollIntoView({ block: "start" });
      E.focusSite(k);
    }
    function openBorough(b, button) {
      var layer = ["boroughs_unused", "boroughs_value"].map(function (k) { return E.layers[k]; })
        .filter(function (l) { return l && map.hasLayer(l); })[0];
      if (!layer) return;
      layer.eachLayer(function (l) {
        if (l.feature.properties.i !== b) return;
        var box = map.getContainer().getBoundingClientRect();
        if (box.bottom < 40 || box.top > window.innerHeight - 40) {
          map.getContainer().scrollIntoView({ block: "start" });
        }
        map.fitBounds(l.getBounds(), { padding: [30, 30], animate: false });
        E.opener = button;
        if (compact()) E.fold();
        l.openPopup(l.getBounds().getCenter());
      });
    }
    function sortBoroughs(button) {
      var th = button.parentNode, col = Number(button.getAttribute("data-col"));
      var numeric = button.getAttribute("data-num") === "1";
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      var table = th.closest("table"), body = table.tBodies[0];
      table.querySelectorAll("th[aria-sort]").forEach(function (x) {
        x.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      var trs = Array.prototype.slice.call(body.rows);
      var val = function (tr) {
        var v = tr.cells[col].getAttribute("data-v");
        return v === "" ? null : numeric ? Number(v) : v;
      };
      trs.sort(function (a, b) {
        var x = val(a), y = val(b);
        if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
        return x < y ? -dir : x > y ? dir : 0;
      });
      trs.forEach(function (tr) { body.appendChild(tr); });
    }
    function csvText() {
      var head = ["London rank"];
      if (C.pilotPage) head.push("Rank in this pilot");
      head.push("Site code", "Site name", "Trust", "Borough", "Unused land (hectares)",
                "Value, midpoint (GBP)", "Disposal score", "PFI", "Data-quality flags");
      var lines = [head.map(csvCell).join(",")];
      state.shown.forEach(function (k) {
        var cells = [csvNumber(rank[k])];
        if (C.pilotPage) cells.push(csvNumber(pilotRankOf(k)));
        cells.push(csvCell(unescapeHtml(code[k])), csvCell(unescapeHtml(name[k])),
                   csvCell(unescapeHtml(str(k, "trust"))),
                   csvCell(unescapeHtml(str(k, "borough"))), csvNumber(unused[k]),
                   csvNumber(value[k]), csvNumber(score[k]),
                   missing(pfiOf[k]) ? "" : pfiOf[k] ? "true" : "false",
                   csvCell(str(k, "flags").map(unescapeHtml).join(";")));
        lines.push(cells.join(","));
      });
      return lines.join("\n") + "\n";
    }
    // A Blob and an object URL: works from a file with no network. A download
    // is a navigation, not a fetch, so the page's connect-src 'none' allows it.
    function download() {
      var url = URL.createObjectURL(new Blob([csvText()], { type: "text/csv;charset=utf-8" }));
      var a = document.createElement("a");
      a.href = url;
      a.download = C.mapId + "_table.csv";
      a.hidden = true;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    }

    sec.addEventListener("change", function (e) {
      if (e.target.hasAttribute("data-filter")) readFilters();
    });
    sec.addEventListener("click", function (e) {
      var t = e.target;
      var sort = t.closest("[data-sort]");
      if (sort) { setSort(sort.getAttribute("data-sort")); return; }
      var bsort = t.closest("button[data-col]");
      if (bsort) { sortBoroughs(bsort); return; }
      var pg = t.closest("[data-page]");
      if (pg) {
        state.page += pg.getAttribute("data-page") === "next" ? 1 : -1;
        render();
        return;
      }
      if (t.closest(".est-clear")) { T.clear(); return; }
      if (t.closest(".est-download")) { download(); return; }
      var borough = t.closest("button[data-borough]");
      if (borough) { openBorough(Number(borough.getAttribute("data-borough")), borough); return; }
      var tr = t.closest("tr[data-i]");
      if (tr && sec.querySelector(".est-site-table").contains(tr)) {
        openRow(Number(tr.getAttribute("data-i")));
      }
    });

    T = {
      state: state,
      csv: csvText,
      sort: setSort,
      clear: function () {
        sec.querySelectorAll("[data-filter]").forEach(function (el) {
          if (el.type === "checkbox") el.checked = false;
          else el.value = "";
        });
        readFilters();
      }
    };
    E.table = T;
    // Every site passes at first, and every marker is already drawn.
    state.visible.fill(1);
    render();
  }
  E.csv = { safe: spreadsheetSafe, cell: csvCell };

  // #site=CODE opens that site, also from a file: URL and when the fragment
  // changes; a site hidden by the filters is shown again first.
  var codeIndex = null;
  function siteFromHash() {
    var m = /^#site=(.+)$/.exec(window.location.hash);
    if (!m) return;
    var code;
    try { code = decodeURIComponent(m[1]); } catch (err) { return; }
    if (!codeIndex) {
      codeIndex = {};
      E.data.sites.columns[E.F.code].forEach(function (raw, k) {
        var c = unescapeHtml(raw);
        if (!codeIndex.hasOwnProperty(c)) codeIndex[c] = k;
      });
    }
    if (!codeIndex.hasOwnProperty(code)) {
      var count = document.querySelector(".est-tables .est-count");
      if (count) count.textContent = "No site on this map has the code " + code + ".";
      return;
    }
    var k = codeIndex[code];
    if (T && !T.state.visible[k]) T.clear();
    E.focusSite(k);
  }
  function wireSiteLink() {
    window.addEventListener("hashchange", siteFromHash);
    siteFromHash();
  }

  E.ui = function (opts) {
    var map = E.map;
    var Panel = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "est-panel");
        div.innerHTML = opts.panel;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    var panel = new Panel().addTo(map);
    E.panel = panel.getContainer();
    wireSearch(E.panel);
    wireToolbar(map);
    wirePopups(map);
    wirePrint(map);
    wireTables(map);
    map.on("baselayerchange", function (e) {
      var key = e.layer.estatesKey;
      E.panel.querySelectorAll(".est-legend-choro").forEach(function (el) {
        el.hidden = el.getAttribute("data-key") !== key;
      });
      restack();
    });
    map.on("overlayadd", restack);
    L.control.scale({ position: "bottomright", maxWidth: 160 }).addTo(map);
    E.readyAt = performance.now();
    E.ready = true;
    document.documentElement.setAttribute("data-estates-ready", "1");
    wireSiteLink();
  };
})();
