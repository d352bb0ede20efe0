package report

import "testing"

func TestTableCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2 configured, 1 deleted", "2 configured, 1 deleted"},
		{"a | b", `a \| b`},
		{"line one\nline two\r\nthree", "line one line two three"},
		{"failed: @alice *boom*", `failed\: \@alice \*boom\*`},
	}
	for _, tt := range tests {
		if got := TableCell(tt.in); got != tt.want {
			t.Errorf("TableCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
