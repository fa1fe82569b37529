// DMA engine: DMA_LOAD (DRAM -> SRAM) and DMA_STORE (SRAM -> DRAM), BUS_BYTES a beat.
//
// Timing (docs/isa.md): DMA_LATENCY + ceil(length / BUS_BYTES) execute cycles, B beats.
//   LOAD : read requests go out in execute cycles 0..B-1 (byte address dram_addr + b*BUS);
//          the DRAM answers each exactly DMA_LATENCY cycles later (rd_valid), and the
//          answer is written to the SRAM at once, so the last beat lands in execute
//          cycle DMA_LATENCY + B - 1, the last one.
//   STORE: the SRAM is read in execute cycles 0..B-1 (a registered read: the beat is on
//          sram_rd_data in the next cycle) and each beat posted the cycle after its read,
//          in cycles 1..B; the cycles up to DMA_LATENCY + B - 1 wait for the write
//          acknowledgements (DMA_LATENCY >= 1, so the last post is in the transfer).
//          No SRAM access falls in the issue cycle, which may be the last cycle (the last
//          write) of the transfer before.
// The engine runs on its own once started: the top level waits for `last` (a foreground
// transfer) or goes on issuing (a background one; docs/isa.md "Background units").
// A beat is BUS_BYTES consecutive bytes from any byte address (the last beat is partial,
// with byte enables); only a param-space transfer must start on a param SRAM word (the
// ISA's alignment rule), so that a beat touches each param bank once.
// Field widths come from isa.vh (non-ANSI ports so that the port widths can use them).
module seedcc_dma #(
  parameter integer BUS_BYTES = 8,
  parameter integer DMA_LATENCY = 4
) (
  clk,
  rst_n,
  start,
  is_store,
  f_space,
  f_sram_addr,
  f_dram_addr,
  f_length,
  last,
  active,
  space,
  sram_rd,
  sram_rd_addr,
  sram_rd_data,
  sram_wr,
  sram_wr_addr,
  sram_wr_be,
  sram_wr_data,
  dram_rd_req,
  dram_rd_addr,
  dram_rd_valid,
  dram_rd_data,
  dram_wr_req,
  dram_wr_addr,
  dram_wr_data,
  dram_wr_be
);
`include "isa.vh"
  input  wire                     clk;
  input  wire                     rst_n;
  input  wire                     start;         // issue cycle of DMA_LOAD / DMA_STORE
  input  wire                     is_store;
  input  wire [F_SPACE_W-1:0]     f_space;
  input  wire [F_SRAM_ADDR_W-1:0] f_sram_addr;
  input  wire [F_DRAM_ADDR_W-1:0] f_dram_addr;
  input  wire [F_LENGTH_W-1:0]    f_length;
  output wire                     last;          // last execute cycle
  output wire                     active;        // a transfer is in flight (its last cycle included)
  // SRAM side (space-selected by the top level)
  output wire [F_SPACE_W-1:0]     space;
  output wire                     sram_rd;       // read BUS_BYTES consecutive bytes ...
  output wire [F_SRAM_ADDR_W-1:0] sram_rd_addr;  // ... from here;
  input  wire [BUS_BYTES*8-1:0]   sram_rd_data;  // the bytes read in the last cycle
  output wire                     sram_wr;
  output wire [F_SRAM_ADDR_W-1:0] sram_wr_addr;
  output wire [BUS_BYTES-1:0]     sram_wr_be;
  output wire [BUS_BYTES*8-1:0]   sram_wr_data;
  // DRAM side
  output wire                     dram_rd_req;
  output wire [F_DRAM_ADDR_W-1:0] dram_rd_addr;
  input  wire                     dram_rd_valid;
  input  wire [BUS_BYTES*8-1:0]   dram_rd_data;
  output wire                     dram_wr_req;
  output wire [F_DRAM_ADDR_W-1:0] dram_wr_addr;
  output wire [BUS_BYTES*8-1:0]   dram_wr_data;
  output wire [BUS_BYTES-1:0]     dram_wr_be;

  localparam integer CW = 32;  // cycle and beat counters
  reg                     busy;
  reg                     store;
  reg [F_SPACE_W-1:0]     r_space;
  reg [CW-1:0]            cnt;         // execute cycle
  reg [CW-1:0]            total;       // DMA_LATENCY + beats
  reg [CW-1:0]            beats;
  reg [F_LENGTH_W-1:0]    issue_left;  // bytes not yet requested / posted
  reg [F_SRAM_ADDR_W-1:0] sram_ptr;    // next SRAM byte of the request side (STORE) ...
  reg [F_DRAM_ADDR_W-1:0] dram_ptr;    // ... and next DRAM byte
  reg [F_SRAM_ADDR_W-1:0] fill_ptr;    // LOAD: next SRAM byte to fill from a returning beat
  reg [F_LENGTH_W-1:0]    fill_left;
  reg                     post;        // STORE: post the beat read in the last cycle ...
  reg [F_DRAM_ADDR_W-1:0] post_addr;   // ... here
  reg [BUS_BYTES-1:0]     post_be;

  localparam [F_SRAM_ADDR_W-1:0] BUS_S = BUS_BYTES[F_SRAM_ADDR_W-1:0];
  localparam [F_LENGTH_W-1:0]    BUS_L = BUS_BYTES[F_LENGTH_W-1:0];
  localparam [F_DRAM_ADDR_W-1:0] BUS_D = BUS_BYTES[F_DRAM_ADDR_W-1:0];
  localparam [CW-1:0]            BUS_C = BUS_BYTES;
  localparam [CW-1:0]            LAT_C = DMA_LATENCY;
  wire [CW-1:0] f_beats = ({{(CW-F_LENGTH_W){1'b0}}, f_length} + BUS_C - 1'b1) / BUS_C;

  function [BUS_BYTES-1:0] enables(input [F_LENGTH_W-1:0] left);
    integer j;
    begin
      for (j = 0; j < BUS_BYTES; j = j + 1) enables[j] = ({{(CW-F_LENGTH_W){1'b0}}, left} > j);
    end
  endfunction

  wire issuing = busy && (cnt < beats);

  assign last = busy && (cnt == total - 1);
  assign active = busy;
  assign space = r_space;

  assign dram_rd_req  = issuing && !store;
  assign dram_rd_addr = dram_ptr;
  assign sram_wr      = busy && !store && dram_rd_valid;
  assign sram_wr_addr = fill_ptr;
  assign sram_wr_be   = enables(fill_left);
  assign sram_wr_data = dram_rd_data;

  assign sram_rd      = issuing && store;
  assign sram_rd_addr = sram_ptr;
  assign dram_wr_req  = post;
  assign dram_wr_addr = post_addr;
  assign dram_wr_data = sram_rd_data;
  assign dram_wr_be   = post_be;

  // in the issue cycle of a transfer the one before is in its last cycle, which is never a
  // read cycle (DMA_LATENCY >= 1): `post` falls to 0 there
  always @(posedge clk) begin
    post <= rst_n && sram_rd;
    post_addr <= dram_ptr;
    post_be <= enables(issue_left);
  end

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
      store <= 1'b0;
      r_space <= {F_SPACE_W{1'b0}};
      cnt <= {CW{1'b0}};
      total <= {CW{1'b0}};
      beats <= {CW{1'b0}};
      issue_left <= {F_LENGTH_W{1'b0}};
      sram_ptr <= {F_SRAM_ADDR_W{1'b0}};
      dram_ptr <= {F_DRAM_ADDR_W{1'b0}};
      fill_ptr <= {F_SRAM_ADDR_W{1'b0}};
      fill_left <= {F_LENGTH_W{1'b0}};
    end else if (start) begin
      busy <= 1'b1;
      store <= is_store;
      r_space <= f_space;
      cnt <= {CW{1'b0}};
      beats <= f_beats;
      total <= f_beats + LAT_C;
      issue_left <= f_length;
      sram_ptr <= f_sram_addr;
      dram_ptr <= f_dram_addr;
      fill_ptr <= f_sram_addr;
      fill_left <= f_length;
    end else if (busy) begin
      cnt <= cnt + 1'b1;
      if (last) busy <= 1'b0;
      if (issuing) begin
        sram_ptr <= sram_ptr + BUS_S;
        dram_ptr <= dram_ptr + BUS_D;
        issue_left <= (issue_left > BUS_L) ? issue_left - BUS_L : {F_LENGTH_W{1'b0}};
      end
      if (sram_wr) begin
        fill_ptr <= fill_ptr + BUS_S;
        fill_left <= (fill_left > BUS_L) ? fill_left - BUS_L : {F_LENGTH_W{1'b0}};
      end
    end
  end
endmodule
