module Shipping
  class Shipment < ApplicationRecord
    belongs_to :order, class_name: "::Order"

    validates :carrier, :tracking_number, presence: true
  end
end
