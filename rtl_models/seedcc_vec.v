// Vector units that run after the MAC array: REQ (requantisation), ADD (residual add) and
// MAXPOOL / AVGPOOL. Each is a small sequencer whose cycle count is the timing model's
// row for its instruction (docs/isa.md); memory reads are combinational (behavioural
// SRAMs in seedcc_accel), writes happen at the clock edge ending the cycle.

// REQ: one cycle per (channel o, pixel tile): PIXELS requantisers read PIXELS consecutive
// accumulators acc[acc_addr + o*pix_count + p] and channel o's 8-byte record
// (bias int32, mult int16, shift uint8) and write PIXELS bytes at out_addr + o*out_plane + p.
// = oc_count * ceil(pix_count / PIXELS) execute cycles.
module seedcc_req #(
  parameter integer PIXELS = 4
) (
  input  wire                 clk,
  input  wire                 rst_n,
  input  wire                 start,
  input  wire [19:0]          f_acc_addr,
  input  wire [23:0]          f_out_addr,
  input  wire [15:0]          f_oc_count,
  input  wire [19:0]          f_pix_count,
  input  wire [19:0]          f_out_plane,
  input  wire [15:0]          f_param_addr,
  input  wire                 f_relu,
  output wire                 last,
  output wire [19:0]          acc_rd_addr,     // PIXELS consecutive words
  input  wire [PIXELS*32-1:0] acc_rd_data,
  output wire [15:0]          param_rd_addr,   // 8 bytes
  input  wire [63:0]          param_rd_data,
  output wire                 act_wr,
  output wire [23:0]          act_wr_addr,     // PIXELS consecutive bytes
  output reg  [PIXELS-1:0]    act_wr_be,
  output wire [PIXELS*8-1:0]  act_wr_data
);
  localparam [19:0] PIX20 = PIXELS[19:0];
  reg        busy;
  reg [15:0] o;
  reg [15:0] r_oc;
  reg [19:0] r_pix_count, r_out_plane;
  reg        r_relu;
  reg [19:0] p0;
  reg [19:0] acc_base;
  reg [23:0] out_base;
  reg [15:0] prm;

  wire last_tile = ({12'd0, p0} + PIXELS) >= {12'd0, r_pix_count};
  assign last = busy && last_tile && (o == r_oc - 16'd1);
  assign acc_rd_addr = acc_base + p0;
  assign param_rd_addr = prm;
  assign act_wr = busy;
  assign act_wr_addr = out_base + {4'd0, p0};

  integer p;
  always @* for (p = 0; p < PIXELS; p = p + 1) act_wr_be[p] = ({12'd0, p0} + p) < {12'd0, r_pix_count};

  genvar g;
  generate
    for (g = 0; g < PIXELS; g = g + 1) begin : lane
      seedcc_requant u_rq (
        .acc(acc_rd_data[g*32 +: 32]),
        .bias(param_rd_data[31:0]),
        .mult(param_rd_data[47:32]),
        .shift(param_rd_data[53:48]),
        .relu(r_relu),
        .out(act_wr_data[g*8 +: 8])
      );
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
    end else if (start) begin
      busy <= 1'b1;
      o <= 16'd0;
      p0 <= 20'd0;
      r_oc <= f_oc_count;
      r_pix_count <= f_pix_count;
      r_out_plane <= f_out_plane;
      r_relu <= f_relu;
      acc_base <= f_acc_addr;
      out_base <= f_out_addr;
      prm <= f_param_addr;
    end else if (busy) begin
      if (last) busy <= 1'b0;
      if (last_tile) begin
        p0 <= 20'd0;
        o <= o + 16'd1;
        acc_base <= acc_base + r_pix_count;
        out_base <= out_base + {4'd0, r_out_plane};
        prm <= prm + 16'd8;
      end else begin
        p0 <= p0 + PIX20;
      end
    end
  end
endmodule

// ADD: one cycle per PIXELS elements: out[e] = sat8(relu?(round_shift(a[e]*mult_a +
// b[e]*mult_b, shift))) = ceil(length / PIXELS) execute cycles.
module seedcc_add #(
  parameter integer PIXELS = 4
) (
  input  wire                 clk,
  input  wire                 rst_n,
  input  wire                 start,
  input  wire [23:0]          f_a_addr,
  input  wire [23:0]          f_b_addr,
  input  wire [23:0]          f_out_addr,
  input  wire [23:0]          f_length,
  input  wire signed [15:0]   f_mult_a,
  input  wire signed [15:0]   f_mult_b,
  input  wire [5:0]           f_shift,
  input  wire                 f_relu,
  output wire                 last,
  output wire [23:0]          a_rd_addr,      // PIXELS consecutive bytes each
  input  wire [PIXELS*8-1:0]  a_rd_data,
  output wire [23:0]          b_rd_addr,
  input  wire [PIXELS*8-1:0]  b_rd_data,
  output wire                 act_wr,
  output wire [23:0]          act_wr_addr,
  output reg  [PIXELS-1:0]    act_wr_be,
  output wire [PIXELS*8-1:0]  act_wr_data
);
  localparam [23:0] PIX24 = PIXELS[23:0];
  reg        busy;
  reg [23:0] e0;
  reg [23:0] r_a, r_b, r_out, r_len;
  reg signed [15:0] r_ma, r_mb;
  reg [5:0]  r_shift;
  reg        r_relu;

  assign last = busy && ({8'd0, e0} + PIXELS >= {8'd0, r_len});
  assign a_rd_addr = r_a + e0;
  assign b_rd_addr = r_b + e0;
  assign act_wr = busy;
  assign act_wr_addr = r_out + e0;

  integer p;
  always @* for (p = 0; p < PIXELS; p = p + 1) act_wr_be[p] = ({8'd0, e0} + p) < {8'd0, r_len};

  genvar g;
  generate
    for (g = 0; g < PIXELS; g = g + 1) begin : lane
      wire signed [7:0]  a = a_rd_data[g*8 +: 8];
      wire signed [7:0]  b = b_rd_data[g*8 +: 8];
      wire signed [63:0] t = {{56{a[7]}}, a} * {{48{r_ma[15]}}, r_ma} + {{56{b[7]}}, b} * {{48{r_mb[15]}}, r_mb};
      seedcc_round_sat u_rs (.v(t), .shift(r_shift), .relu(r_relu), .out(act_wr_data[g*8 +: 8]));
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
    end else if (start) begin
      busy <= 1'b1;
      e0 <= 24'd0;
      r_a <= f_a_addr;
      r_b <= f_b_addr;
      r_out <= f_out_addr;
      r_len <= f_length;
      r_ma <= f_mult_a;
      r_mb <= f_mult_b;
      r_shift <= f_shift;
      r_relu <= f_relu;
    end else if (busy) begin
      e0 <= e0 + PIX24;
      if (last) busy <= 1'b0;
    end
  end
endmodule

// MAXPOOL / AVGPOOL: per output element (channel outer, then oy, ox) kh*kw window cycles,
// each reading one input byte (ky outer, kx inner; positions outside the input are
// skipped: padding never wins a max and adds nothing to a sum), then one cycle writing
// the result. = channels * out_h * out_w * (kh*kw + 1) execute cycles.
module seedcc_pool (
  input  wire                 clk,
  input  wire                 rst_n,
  input  wire                 start,
  input  wire                 is_avg,
  input  wire [23:0]          f_in_addr,
  input  wire [23:0]          f_out_addr,
  input  wire [15:0]          f_channels,
  input  wire [11:0]          f_in_h,
  input  wire [11:0]          f_in_w,
  input  wire [11:0]          f_out_h,
  input  wire [11:0]          f_out_w,
  input  wire [4:0]           f_kh,
  input  wire [4:0]           f_kw,
  input  wire [3:0]           f_stride_h,
  input  wire [3:0]           f_stride_w,
  input  wire [2:0]           f_pad_t,
  input  wire [2:0]           f_pad_l,
  input  wire signed [15:0]   f_mult,
  input  wire [5:0]           f_shift,
  output wire                 last,
  output wire [23:0]          act_rd_addr,
  input  wire [7:0]           act_rd_data,
  output wire                 act_wr,
  output wire [23:0]          act_wr_addr,
  output wire [7:0]           act_wr_data
);
  reg        busy, avg, wphase;
  reg [15:0] c, r_ch;
  reg [11:0] oy, ox, r_in_h, r_in_w, r_oh, r_ow;
  reg [4:0]  ky, kx, r_kh, r_kw;
  reg [3:0]  r_sh, r_sw;
  reg [2:0]  r_pt, r_pl;
  reg signed [15:0] r_mult;
  reg [5:0]  r_shift;
  reg [23:0] chan_base, out_ptr, r_plane;
  reg signed [7:0]  vmax;
  reg signed [31:0] vsum;

  wire signed [31:0] iy = $signed({20'd0, oy}) * $signed({28'd0, r_sh}) - $signed({29'd0, r_pt}) + $signed({27'd0, ky});
  wire signed [31:0] ix = $signed({20'd0, ox}) * $signed({28'd0, r_sw}) - $signed({29'd0, r_pl}) + $signed({27'd0, kx});
  wire inb = (iy >= 0) && (iy < $signed({20'd0, r_in_h})) && (ix >= 0) && (ix < $signed({20'd0, r_in_w}));
  assign act_rd_addr = inb ? chan_base + iy[23:0] * {12'd0, r_in_w} + ix[23:0] : 24'd0;
  wire signed [7:0] x = act_rd_data;

  wire signed [63:0] scaled = {{32{vsum[31]}}, vsum} * {{48{r_mult[15]}}, r_mult};
  wire signed [7:0]  avg_out;
  seedcc_round_sat u_rs (.v(scaled), .shift(r_shift), .relu(1'b0), .out(avg_out));

  wire win_last = (ky == r_kh - 5'd1) && (kx == r_kw - 5'd1);
  wire no_window = (f_kh == 5'd0) || (f_kw == 5'd0);
  wire last_elem = (c == r_ch - 16'd1) && (oy == r_oh - 12'd1) && (ox == r_ow - 12'd1);
  assign last = busy && wphase && last_elem;
  assign act_wr = busy && wphase;
  assign act_wr_addr = out_ptr;
  assign act_wr_data = avg ? avg_out : vmax;

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
    end else if (start) begin
      busy <= 1'b1;
      avg <= is_avg;
      wphase <= no_window;
      c <= 16'd0;
      oy <= 12'd0;
      ox <= 12'd0;
      ky <= 5'd0;
      kx <= 5'd0;
      r_ch <= f_channels;
      r_in_h <= f_in_h;
      r_in_w <= f_in_w;
      r_oh <= f_out_h;
      r_ow <= f_out_w;
      r_kh <= f_kh;
      r_kw <= f_kw;
      r_sh <= f_stride_h;
      r_sw <= f_stride_w;
      r_pt <= f_pad_t;
      r_pl <= f_pad_l;
      r_mult <= f_mult;
      r_shift <= f_shift;
      r_plane <= {12'd0, f_in_h} * {12'd0, f_in_w};
      chan_base <= f_in_addr;
      out_ptr <= f_out_addr;
      vmax <= -8'sd128;
      vsum <= 32'sd0;
    end else if (busy) begin
      if (!wphase) begin
        if (inb) begin
          if (x > vmax) vmax <= x;
          vsum <= vsum + {{24{x[7]}}, x};
        end
        if (win_last) begin
          wphase <= 1'b1;
        end else if (kx == r_kw - 5'd1) begin
          kx <= 5'd0;
          ky <= ky + 5'd1;
        end else begin
          kx <= kx + 5'd1;
        end
      end else begin
        // write cycle: the output is on act_wr_data; move to the next element
        vmax <= -8'sd128;
        vsum <= 32'sd0;
        ky <= 5'd0;
        kx <= 5'd0;
        wphase <= (r_kh == 5'd0) || (r_kw == 5'd0);
        out_ptr <= out_ptr + 24'd1;
        if (last) busy <= 1'b0;
        if (ox == r_ow - 12'd1) begin
          ox <= 12'd0;
          if (oy == r_oh - 12'd1) begin
            oy <= 12'd0;
            c <= c + 16'd1;
            chan_base <= chan_base + r_plane;
          end else begin
            oy <= oy + 12'd1;
          end
        end else begin
          ox <= ox + 12'd1;
        end
      end
    end
  end
endmodule
