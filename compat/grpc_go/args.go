package main

// A small command-line parser with Python argparse's behaviour as the grpc_py drivers use it:
// `--name VALUE` or `--name=VALUE`, later values replace earlier ones (append options collect),
// -h/--help prints the usage and exits 0, and any error prints `usage: ...` plus
// `PROG: error: ...` on stderr and exits 2.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

type optDef struct {
	name     string
	help     string
	value    bool // takes a value
	required bool
	seen     bool
	set      func(string) error
	group    *exclusive
}

// exclusive is an argparse mutually exclusive group of flags.
type exclusive struct{ chosen string }

type parser struct {
	prog  string
	doc   string
	opts  map[string]*optDef
	order []string
}

func newParser(cmd, doc string) *parser {
	return &parser{prog: binName + " " + cmd, doc: doc, opts: map[string]*optDef{}}
}

func (p *parser) add(o *optDef) {
	p.opts[o.name] = o
	p.order = append(p.order, o.name)
}

func (p *parser) str(name, def string, required bool, help string) *string {
	v := def
	p.add(&optDef{name: name, help: help, value: true, required: required, set: func(s string) error {
		v = s
		return nil
	}})
	return &v
}

// strOpt is a string option whose absence is nil (Python's default=None).
func (p *parser) strOpt(name, help string) *string {
	var v string
	o := &optDef{name: name, help: help, value: true}
	o.set = func(s string) error { v = s; return nil }
	p.add(o)
	return &v
}

func (p *parser) given(name string) bool { return p.opts[name].seen }

func (p *parser) choice(name, def string, choices []string, help string) *string {
	v := def
	p.add(&optDef{name: name, help: fmt.Sprintf("%s {%s}", help, strings.Join(choices, ",")), value: true,
		set: func(s string) error {
			for _, c := range choices {
				if c == s {
					v = s
					return nil
				}
			}
			quoted := make([]string, len(choices))
			for i, c := range choices {
				quoted[i] = "'" + c + "'"
			}
			return fmt.Errorf("invalid choice: '%s' (choose from %s)", s, strings.Join(quoted, ", "))
		}})
	return &v
}

func (p *parser) int(name string, def int, help string) *int {
	v := def
	p.add(&optDef{name: name, help: help, value: true, set: func(s string) error {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("invalid int value: '%s'", s)
		}
		v = n
		return nil
	}})
	return &v
}

func (p *parser) float(name string, def float64, help string) *float64 {
	v := def
	p.add(&optDef{name: name, help: help, value: true, set: func(s string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("invalid float value: '%s'", s)
		}
		v = f
		return nil
	}})
	return &v
}

func (p *parser) posFloat(name string, def float64, help string) *float64 {
	v := def
	p.add(&optDef{name: name, help: help, value: true, set: func(s string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || !(f > 0) {
			return fmt.Errorf("invalid positive_float value: '%s'", s)
		}
		v = f
		return nil
	}})
	return &v
}

func (p *parser) flag(name, help string) *bool {
	v := false
	p.add(&optDef{name: name, help: help, set: func(string) error { v = true; return nil }})
	return &v
}

func (p *parser) appendOpt(name, metavar, help string) *[]string {
	var v []string
	p.add(&optDef{name: name, help: metavar + ": " + help, value: true, set: func(s string) error {
		v = append(v, s)
		return nil
	}})
	return &v
}

// constFlag is a flag of an exclusive group that stores its constant into *dst.
func (p *parser) constFlag(g *exclusive, name, constant string, dst *string, help string) {
	p.add(&optDef{name: name, help: help, group: g, set: func(string) error {
		*dst = constant
		return nil
	}})
}

func (p *parser) usageLine() string {
	var parts []string
	for _, n := range p.order {
		o := p.opts[n]
		s := "--" + n
		if o.value {
			s += " " + strings.ToUpper(strings.ReplaceAll(n, "-", "_"))
		}
		if !o.required {
			s = "[" + s + "]"
		}
		parts = append(parts, s)
	}
	return "usage: " + p.prog + " [-h] " + strings.Join(parts, " ")
}

func (p *parser) printHelp() {
	fmt.Println(p.usageLine())
	fmt.Println()
	fmt.Println(strings.TrimSpace(p.doc))
	fmt.Println()
	fmt.Println("options:")
	fmt.Println("  -h, --help            show this help message and exit")
	for _, n := range p.order {
		o := p.opts[n]
		s := "--" + n
		if o.value {
			s += " " + strings.ToUpper(strings.ReplaceAll(n, "-", "_"))
		}
		req := ""
		if o.required {
			req = " (required)"
		}
		fmt.Printf("  %-22s%s%s\n", s, o.help, req)
	}
}

func (p *parser) error(format string, a ...interface{}) {
	fmt.Fprintln(os.Stderr, p.usageLine())
	fmt.Fprintf(os.Stderr, "%s: error: %s\n", p.prog, fmt.Sprintf(format, a...))
	os.Exit(exitUsage)
}

func (p *parser) parse(argv []string) {
	var unknown []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "-h" || a == "--help" {
			p.printHelp()
			os.Exit(exitOK)
		}
		if !strings.HasPrefix(a, "--") || a == "--" {
			unknown = append(unknown, a)
			continue
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		o, ok := p.opts[name]
		if !ok {
			unknown = append(unknown, a)
			continue
		}
		if o.group != nil {
			if o.group.chosen != "" && o.group.chosen != name {
				p.error("argument --%s: not allowed with argument --%s", name, o.group.chosen)
			}
			o.group.chosen = name
		}
		if o.value {
			if !hasVal {
				if i+1 >= len(argv) || (strings.HasPrefix(argv[i+1], "--") && len(argv[i+1]) > 2) {
					p.error("argument --%s: expected one argument", name)
				}
				i++
				val = argv[i]
			}
		} else if hasVal {
			p.error("argument --%s: ignored explicit argument '%s'", name, val)
		}
		if err := o.set(val); err != nil {
			p.error("argument --%s: %v", name, err)
		}
		o.seen = true
	}
	var missing []string
	for _, n := range p.order {
		if p.opts[n].required && !p.opts[n].seen {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		p.error("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	if len(unknown) > 0 {
		p.error("unrecognized arguments: %s", strings.Join(unknown, " "))
	}
}
