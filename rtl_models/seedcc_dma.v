// DMA engine: DMA_LOAD (DRAM -> SRAM) and DMA_STORE (SRAM -> DRAM), BUS_BYTES a beat.
//
// Timing (docs/isa.md): DMA_LATENCY + ceil(length / BUS_BYTES) execute cycles, B beats.
//   LOAD : read requests go out in execute cycles 0..B-1 (byte address dram_addr + b*BUS);
//          the DRAM answers each exactly DMA_LATENCY cycles later (rd_valid), and the
//          answer is written to the SRAM at once, so the last beat lands in execute
//          cycle DMA_LATENCY + B - 1, the last one.
//   STORE: the SRAM is read and the write beat posted in execute cycles 0..B-1; the
//          remaining DMA_LATENCY cycles wait for the write acknowledgements.
// Addresses need no alignment on either side: a beat is BUS_BYTES consecutive bytes
// from any byte address (the last beat is partial, with byte enables).
module seedcc_dma #(
  parameter integer BUS_BYTES = 8,
  parameter integer DMA_LATENCY = 4
) (
  input  wire                     clk,
  input  wire                     rst_n,
  input  wire                     start,       // issue cycle of DMA_LOAD / DMA_STORE
  input  wire                     is_store,
  input  wire [1:0]               f_space,
  input  wire [23:0]              f_sram_addr,
  input  wire [31:0]              f_dram_addr,
  input  wire [23:0]              f_length,
  output wire                     last,        // last execute cycle
  // SRAM side (space-selected by the top level)
  output wire [1:0]               space,
  output wire [23:0]              sram_rd_addr,  // BUS_BYTES consecutive bytes
  input  wire [BUS_BYTES*8-1:0]   sram_rd_data,
  output wire                     sram_wr,
  output wire [23:0]              sram_wr_addr,
  output wire [BUS_BYTES-1:0]     sram_wr_be,
  output wire [BUS_BYTES*8-1:0]   sram_wr_data,
  // DRAM side
  output wire                     dram_rd_req,
  output wire [31:0]              dram_rd_addr,
  input  wire                     dram_rd_valid,
  input  wire [BUS_BYTES*8-1:0]   dram_rd_data,
  output wire                     dram_wr_req,
  output wire [31:0]              dram_wr_addr,
  output wire [BUS_BYTES*8-1:0]   dram_wr_data,
  output wire [BUS_BYTES-1:0]     dram_wr_be
);
  reg        busy;
  reg        store;
  reg [1:0]  r_space;
  reg [31:0] cnt;         // execute cycle
  reg [31:0] total;       // DMA_LATENCY + beats
  reg [31:0] beats;
  reg [23:0] issue_left;  // bytes not yet requested / posted
  reg [23:0] sram_ptr;    // next SRAM byte of the request side (STORE) ...
  reg [31:0] dram_ptr;    // ... and next DRAM byte
  reg [23:0] fill_ptr;    // LOAD: next SRAM byte to fill from a returning beat
  reg [23:0] fill_left;

  localparam [23:0] BUS24 = BUS_BYTES[23:0];
  localparam [31:0] BUS32 = BUS_BYTES;
  localparam [31:0] LAT32 = DMA_LATENCY;
  wire [31:0] f_beats = ({8'd0, f_length} + BUS32 - 32'd1) / BUS32;

  function [BUS_BYTES-1:0] enables(input [23:0] left);
    integer j;
    begin
      for (j = 0; j < BUS_BYTES; j = j + 1) enables[j] = ({8'd0, left} > j);
    end
  endfunction

  wire issuing = busy && (cnt < beats);

  assign last = busy && (cnt == total - 1);
  assign space = r_space;

  assign dram_rd_req  = issuing && !store;
  assign dram_rd_addr = dram_ptr;
  assign sram_wr      = busy && !store && dram_rd_valid;
  assign sram_wr_addr = fill_ptr;
  assign sram_wr_be   = enables(fill_left);
  assign sram_wr_data = dram_rd_data;

  assign sram_rd_addr = sram_ptr;
  assign dram_wr_req  = issuing && store;
  assign dram_wr_addr = dram_ptr;
  assign dram_wr_data = sram_rd_data;
  assign dram_wr_be   = enables(issue_left);

  always @(posedge clk) begin
    if (!rst_n) begin
      busy <= 1'b0;
      store <= 1'b0;
      r_space <= 2'd0;
      cnt <= 32'd0;
      total <= 32'd0;
      beats <= 32'd0;
      issue_left <= 24'd0;
      sram_ptr <= 24'd0;
      dram_ptr <= 32'd0;
      fill_ptr <= 24'd0;
      fill_left <= 24'd0;
    end else if (start) begin
      busy <= 1'b1;
      store <= is_store;
      r_space <= f_space;
      cnt <= 32'd0;
      beats <= f_beats;
      total <= f_beats + LAT32;
      issue_left <= f_length;
      sram_ptr <= f_sram_addr;
      dram_ptr <= f_dram_addr;
      fill_ptr <= f_sram_addr;
      fill_left <= f_length;
    end else if (busy) begin
      cnt <= cnt + 32'd1;
      if (last) busy <= 1'b0;
      if (issuing) begin
        sram_ptr <= sram_ptr + BUS24;
        dram_ptr <= dram_ptr + BUS32;
        issue_left <= (issue_left > BUS24) ? issue_left - BUS24 : 24'd0;
      end
      if (sram_wr) begin
        fill_ptr <= fill_ptr + BUS24;
        fill_left <= (fill_left > BUS24) ? fill_left - BUS24 : 24'd0;
      end
    end
  end
endmodule
