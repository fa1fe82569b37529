// Processing elements of the output-stationary MAC array.
//
// seedcc_pe: one ACC_BITS (int32) accumulator. Each enabled cycle it adds sign * code * x,
// where sign is a generator (or stored) bit (1 -> +, 0 -> -), code the mask code (0 skips)
// and x an ACT_BITS activation, int8, or uint8 when xu is 1 (a ReLU's output): the adder
// takes x extended to ACT_BITS+1 bits, whose top bit is x's sign for int8 and 0 for uint8.
// There is no multiplier: code * x is a shift-add over the code's CODE_BITS_MAX bits (a
// binary mask, code 0 or 1, is add / subtract / skip). The accumulator wraps modulo
// 2^ACC_BITS like an int32.
//
// seedcc_pe_tile: the GROUP output channels of one generator lane x PIXELS output pixels.
// Flat buses, PE (o, p) at index o*PIXELS + p.
// Widths are the hardware facts of hwfacts.vh (non-ANSI ports so that they can use them).
module seedcc_pe (
  clk,
  load,
  load_val,
  en,
  sign,
  code,
  x,
  xu,
  acc
);
`include "hwfacts.vh"
  input  wire                       clk;
  input  wire                       load;      // start from load_val (tile restart)
  input  wire signed [ACC_BITS-1:0] load_val;
  input  wire                       en;        // add term (to load_val if `load`)
  input  wire                       sign;
  input  wire [CODE_BITS_MAX-1:0]   code;
  input  wire        [ACT_BITS-1:0] x;
  input  wire                       xu;        // 1: x is uint8
  output reg  signed [ACC_BITS-1:0] acc;

  wire xs = x[ACT_BITS-1] & ~xu;  // the extension bit

  reg signed [ACC_BITS-1:0] prod;
  reg signed [ACC_BITS-1:0] term;
  integer b;
  always @* begin
    prod = {ACC_BITS{1'b0}};
    for (b = 0; b < CODE_BITS_MAX; b = b + 1)
      if (code[b]) prod = prod + ($signed({{(ACC_BITS-ACT_BITS){xs}}, x}) <<< b);
    term = sign ? prod : -prod;
  end

  always @(posedge clk) begin
    if (en) acc <= (load ? load_val : acc) + term;
    else if (load) acc <= load_val;
  end
endmodule

// The PE tile lives with the PE it instantiates (docs/rtl.md).
/* verilator lint_off DECLFILENAME */
module seedcc_pe_tile #(
  parameter integer PIXELS = 4
) (
  clk,
  load,
  load_val,
  en,
  signs,
  codes,
  x,
  xu,
  acc
);
`include "hwfacts.vh"
  input  wire                             clk;
  input  wire                             load;
  input  wire [GROUP*PIXELS*ACC_BITS-1:0] load_val;
  input  wire                             en;
  input  wire [GROUP-1:0]                 signs;  // channel o: bit o
  input  wire [GROUP*CODE_BITS_MAX-1:0]   codes;  // channel o: codes[o*CODE_BITS_MAX +: CODE_BITS_MAX]
  input  wire [PIXELS*ACT_BITS-1:0]       x;      // pixel p: x[p*ACT_BITS +: ACT_BITS] (to all channels)
  input  wire                             xu;     // 1: the x bytes are uint8
  output wire [GROUP*PIXELS*ACC_BITS-1:0] acc;

  genvar o, p;
  generate
    for (o = 0; o < GROUP; o = o + 1) begin : ch
      for (p = 0; p < PIXELS; p = p + 1) begin : px
        seedcc_pe u_pe (
          .clk(clk),
          .load(load),
          .load_val(load_val[(o*PIXELS+p)*ACC_BITS +: ACC_BITS]),
          .en(en),
          .sign(signs[o]),
          .code(codes[o*CODE_BITS_MAX +: CODE_BITS_MAX]),
          .x(x[p*ACT_BITS +: ACT_BITS]),
          .xu(xu),
          .acc(acc[(o*PIXELS+p)*ACC_BITS +: ACC_BITS])
        );
      end
    end
  endgenerate
endmodule
/* verilator lint_on DECLFILENAME */
