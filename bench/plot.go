package bench

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// topologyStyle gives each topology the same colour and dash in every panel.
var topologyStyle = map[string]struct {
	c      color.RGBA
	dashes []vg.Length
}{
	T0UDS:     {color.RGBA{0x33, 0x33, 0x33, 0xff}, nil},
	T0TCP:     {color.RGBA{0x99, 0x99, 0x99, 0xff}, []vg.Length{vg.Points(4), vg.Points(2)}},
	T1:        {color.RGBA{0x1f, 0x77, 0xb4, 0xff}, nil},
	T2:        {color.RGBA{0xd6, 0x27, 0x28, 0xff}, nil},
	T2MTLS:    {color.RGBA{0xff, 0x7f, 0x0e, 0xff}, []vg.Length{vg.Points(3), vg.Points(2)}},
	T1HAProxy: {color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, []vg.Length{vg.Points(6), vg.Points(3)}},
	T2HAProxy: {color.RGBA{0x94, 0x67, 0xbd, 0xff}, []vg.Length{vg.Points(6), vg.Points(2), vg.Points(1.5), vg.Points(2)}},
}

// WritePlot draws latency against percentile, HdrHistogram style (the
// percentile axis stretches the tail: 90%, 99%, 99.9% are equally spaced),
// one panel per payload (rows) and load point (columns), one line per
// topology, the repetitions of a run merged. It writes a PNG.
func (r *Report) WritePlot(file string) error {
	var points []string
	for _, x := range r.Runs {
		if !slices.Contains(points, x.Point) {
			points = append(points, x.Point)
		}
	}
	payloads := r.Settings.Payloads
	if len(points) == 0 || len(payloads) == 0 {
		return fmt.Errorf("bench: nothing to plot")
	}
	plots := make([][]*plot.Plot, len(payloads))
	for i, size := range payloads {
		plots[i] = make([]*plot.Plot, len(points))
		for j, pt := range points {
			p, err := r.panel(size, pt)
			if err != nil {
				return err
			}
			plots[i][j] = p
		}
	}
	w := vg.Length(len(points)) * 4 * vg.Inch
	h := vg.Length(len(payloads)) * 3.2 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(payloads), Cols: len(points),
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10),
		PadX: vg.Points(14), PadY: vg.Points(14)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		for j := range plots[i] {
			plots[i][j].Draw(canvases[i][j])
		}
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r *Report) panel(size int, pt string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s payload, %s", sizeName(size), pt)
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (µs)"
	p.X.Scale = plot.LogScale{}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = latencyTicks{}
	p.Legend.Top, p.Legend.Left = false, false // bottom right: the curves rise to the right
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Add(plotter.NewGrid())
	maxX := 10.0
	for _, topo := range AllTopologies {
		var merged *hdr.Histogram
		for _, x := range r.Runs {
			if x.Topology != topo || x.Payload != size || x.Point != pt {
				continue
			}
			h, err := hdr.Decode([]byte(x.Histogram))
			if err != nil {
				return nil, fmt.Errorf("bench: histogram of %s %d B %s: %w", topo, size, pt, err)
			}
			if merged == nil {
				merged = h
			} else {
				merged.Merge(h)
			}
		}
		if merged == nil || merged.TotalCount() == 0 {
			continue
		}
		xys := percentileCurve(merged)
		maxX = max(maxX, xys[len(xys)-1].X)
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		st := topologyStyle[topo]
		line.Color = st.c
		line.Dashes = st.dashes
		line.Width = vg.Points(1.4)
		p.Add(line)
		p.Legend.Add(topo, line)
	}
	p.X.Min = 1
	p.X.Max = maxX
	p.X.Tick.Marker = percentileTicks(maxX)
	return p, nil
}

// percentileCurve samples h at percentiles spaced evenly on the
// 1/(1-p) axis, up to the last one the sample count resolves, and ends at
// the maximum. X is 1/(1-p); Y is latency in µs.
func percentileCurve(h *hdr.Histogram) plotter.XYs {
	// The axis ends at 99.999%: further out, one sample is the whole tail.
	end := math.Min(float64(h.TotalCount()), 1e5)
	var xys plotter.XYs
	for i := 0; ; i++ {
		x := math.Pow(10, float64(i)/20) // 20 samples per decade of 1/(1-p)
		if x >= end {
			break
		}
		q := 100 * (1 - 1/x)
		xys = append(xys, plotter.XY{X: x, Y: math.Max(float64(h.ValueAtQuantile(q))/1e3, 1)})
	}
	// The last point is the maximum.
	xys = append(xys, plotter.XY{X: math.Max(end, 1.01), Y: math.Max(float64(h.Max())/1e3, 1)})
	return xys
}

// percentileTicks labels the 1/(1-p) axis in percentiles.
func percentileTicks(maxX float64) plot.ConstantTicks {
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"}
	var ticks []plot.Tick
	for i, l := range labels {
		x := math.Pow(10, float64(i))
		if x > maxX*1.0001 {
			break
		}
		ticks = append(ticks, plot.Tick{Value: x, Label: l})
	}
	return ticks
}

// latencyTicks labels a log latency axis at 1, 2, 5 times powers of ten.
type latencyTicks struct{}

func (latencyTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < lo*0.999 || v > hi*1.001 {
				continue
			}
			label := fmt.Sprintf("%g", v)
			if v >= 1000 {
				label = fmt.Sprintf("%gk", v/1000)
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: label})
		}
	}
	return ticks
}
