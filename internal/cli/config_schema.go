package cli

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newConfigSchemaCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print every field of the configuration file (YAML) with its type",
		Long: `Print the schema of the configuration "config export" writes and "config
apply" reads: every field by its YAML name, with its type, nested as in
the file. docs/configuration.md explains each field; "[]" is a list,
"map" a key: value mapping. Scores take integers, INFINITY and -INFINITY;
durations Go durations (5s, 1m30s); roles Started, Stopped, Promoted,
Unpromoted (or Master, Slave).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			writeSchema(s.Out, reflect.TypeOf(api.Config{}), "", map[reflect.Type]bool{})
			return nil
		},
	}
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	scoreType    = reflect.TypeOf(model.Score(0))
)

// writeSchema prints a struct's fields by their YAML names; a type already
// being printed (rules in rules, resources in resources) is named only.
func writeSchema(w io.Writer, t reflect.Type, indent string, open map[reflect.Type]bool) {
	open[t] = true
	defer delete(open, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		ft := f.Type
		prefix := ""
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			if ft.Kind() == reflect.Slice {
				prefix += "[]"
			}
			ft = ft.Elem()
		}
		switch {
		case ft == durationType:
			fmt.Fprintf(w, "%s%s: %sduration\n", indent, name, prefix)
		case ft == scoreType:
			fmt.Fprintf(w, "%s%s: %sscore\n", indent, name, prefix)
		case ft.Kind() == reflect.Map:
			fmt.Fprintf(w, "%s%s: %smap of %s\n", indent, name, prefix, ft.Elem().Kind())
		case ft.Kind() == reflect.Struct && open[ft]:
			fmt.Fprintf(w, "%s%s: %s%s (as above)\n", indent, name, prefix, strings.ToLower(ft.Name()))
		case ft.Kind() == reflect.Struct:
			fmt.Fprintf(w, "%s%s: %s%s\n", indent, name, prefix, strings.ToLower(ft.Name()))
			writeSchema(w, ft, indent+"  ", open)
		default:
			fmt.Fprintf(w, "%s%s: %s%s\n", indent, name, prefix, ft.Kind())
		}
	}
}
